/// Outcome of a host call, as recorded in `hostcall` events.
public enum HostCallStatus: String, CaseIterable, Sendable {
    case ok
    case denied
    case error
}
