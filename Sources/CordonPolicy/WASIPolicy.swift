/// Per-plugin limits on what a WASI program may do through the supervisor's file broker and its
/// standard streams (the policy's optional `wasi` section; docs/policies.md).
public struct WASIPolicy: Sendable, Hashable {
    /// Guest fds the broker holds open at once, preopens included (→ `EMFILE`).
    public var maxOpenFiles: UInt32
    /// Bytes one `fd_write`/`fd_pwrite` may write (→ `EFBIG`, audited once per worker).
    public var maxWriteBytesPerCall: UInt64
    /// Bytes of stdout, and separately of stderr, kept per call; the rest is cut and reported.
    public var maxOutputBytes: UInt64
    /// Resolution of the WASI clocks the worker exposes; a plugin granted `timer` gets 1 ns.
    public var clockResolutionNanoseconds: UInt64

    public static let openFilesRange: ClosedRange<UInt64> = 4...4096
    public static let writeBytesRange: ClosedRange<UInt64> = 1...(1 << 30)
    public static let outputBytesRange: ClosedRange<UInt64> = 0...(64 << 20)
    public static let clockResolutionRange: ClosedRange<UInt64> = 1...1_000_000_000

    public init(maxOpenFiles: UInt32 = 64, maxWriteBytesPerCall: UInt64 = 64 << 20, maxOutputBytes: UInt64 = 1 << 20,
                clockResolutionNanoseconds: UInt64 = 1000) {
        self.maxOpenFiles = maxOpenFiles
        self.maxWriteBytesPerCall = maxWriteBytesPerCall
        self.maxOutputBytes = maxOutputBytes
        self.clockResolutionNanoseconds = clockResolutionNanoseconds
    }

    /// The defaults: 64 files, 64 MiB per write, 1 MiB of output per stream, 1 µs clocks.
    public static let standard = WASIPolicy()
}
