/// One incomplete or unparsable tail, moved out of the log into its own file.
public struct AuditTornTail: Sendable, Hashable {
    /// Its size.
    public var bytes: Int
    /// The `<log>.torn-<time>` file now holding exactly those bytes.
    public var movedTo: String
}
