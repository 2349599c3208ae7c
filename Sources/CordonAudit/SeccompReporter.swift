/// Who observed a seccomp violation: the kernel (user-notification listener, trustworthy) or the
/// worker's own SIGSYS handler (the confined process's word, labelled as such).
public enum SeccompReporter: String, CaseIterable, Sendable {
    case kernel
    case worker
}
