/// A host directory a WASI program may use, under the name it sees (`fd_prestat_dir_name`).
public struct WASIPreopen: Sendable, Hashable {
    /// The directory on the host; opened once, when the worker starts, as an `O_PATH` directory fd.
    public var hostPath: String
    /// The name the guest resolves paths against, e.g. `/` or `/data`.
    public var guestPath: String
    /// Refuses every mutation beneath it with `EROFS` (docs/wasi.md).
    public var readOnly: Bool

    public init(hostPath: String, guestPath: String, readOnly: Bool = false) {
        self.hostPath = hostPath
        self.guestPath = guestPath
        self.readOnly = readOnly
    }
}
