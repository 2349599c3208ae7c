/// Which `hostcall` events are written: they can dominate the log, so they are sampled by status.
public enum HostCallSampling: String, Sendable, Hashable, CaseIterable {
    /// No `hostcall` records.
    case off
    /// Only host calls whose status is not `ok` (default).
    case deniedOnly
    /// Every host call.
    case all

    /// Whether a host call with `status` is recorded; lets callers skip building the event.
    public func records(_ status: HostCallStatus) -> Bool {
        switch self {
        case .off: return false
        case .deniedOnly: return status != .ok
        case .all: return true
        }
    }
}
