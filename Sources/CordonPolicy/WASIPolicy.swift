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
    /// Whether a regular file the guest opened read-only is donated to the worker (a duplicate of
    /// the broker's open file description), so its reads need no host call (docs/wasi.md).
    public var donateReadOnlyFiles: Bool

    public static let openFilesRange: ClosedRange<UInt64> = 4...4096
    public static let writeBytesRange: ClosedRange<UInt64> = 1...(1 << 30)
    public static let outputBytesRange: ClosedRange<UInt64> = 0...(64 << 20)
    public static let clockResolutionRange: ClosedRange<UInt64> = 1...1_000_000_000

    public init(maxOpenFiles: UInt32 = 64, maxWriteBytesPerCall: UInt64 = 64 << 20, maxOutputBytes: UInt64 = 1 << 20,
                clockResolutionNanoseconds: UInt64 = 1000, donateReadOnlyFiles: Bool = true) {
        self.maxOpenFiles = maxOpenFiles
        self.maxWriteBytesPerCall = maxWriteBytesPerCall
        self.maxOutputBytes = maxOutputBytes
        self.clockResolutionNanoseconds = clockResolutionNanoseconds
        self.donateReadOnlyFiles = donateReadOnlyFiles
    }

    /// The defaults: 64 files, 64 MiB per write, 1 MiB of output per stream, 1 µs clocks, donation on.
    public static let standard = WASIPolicy()

    /// The worker's fd number of its end of the donation socket (0–2 stdio, 3 channel, 4 doorbell,
    /// 5 plan); present only when the policy donates.
    public static let donationSocketFD: Int32 = 6
    /// The worker fds a donated file may occupy: a power-of-two block, aligned, so one masked
    /// comparison in the seccomp filter (`fd & ~15 == 16`) says "inside the range". A worker whose
    /// RLIMIT_NOFILE is below the range's end uses the part below the limit.
    public static let donatedFDs: Range<Int32> = 16..<32
}
