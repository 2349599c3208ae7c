/// What a WASI command (`_start`) left behind: its exit status and what it wrote to stdout and
/// stderr, each kept up to the policy's `wasi.maxOutputBytes`.
public struct CommandOutput: Sendable, Hashable {
    /// `proc_exit`'s code, or 0 when `_start` returned.
    public var exitCode: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// True when either stream went over the cap and the rest was dropped (audited as `limit.breach`).
    public var truncated: Bool

    public init(exitCode: Int32, stdout: [UInt8], stderr: [UInt8], truncated: Bool) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
    }
}
