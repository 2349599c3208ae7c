import CordonChannel

/// How the runtime reaches the supervisor for a host call. The worker implements it over the
/// SharedMemoryBuffer; tests and the in-process benchmark baseline implement it directly.
public protocol HostCallTransport: AnyObject {
    /// Sends `request` and blocks until the supervisor's reply arrives (calls are synchronous in the guest).
    func perform(_ request: HostCallRequest) throws -> HostCallReply
    /// Sends a chunk of the running call's WASI stdout or stderr; it must arrive before the call's outcome.
    func emit(_ output: OutputChunk) throws
}

/// A transport failure that must end the current call: the guest cannot continue without the host.
public struct HostTransportFailure: Error, CustomStringConvertible {
    /// What went wrong on the channel.
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "host call transport failed: \(reason)" }
}
