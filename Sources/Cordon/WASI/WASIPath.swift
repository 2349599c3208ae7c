/// A guest path checked before the kernel sees it: UTF-8, no NUL, not empty, relative, at most
/// `PATH_MAX` bytes. The kernel's `RESOLVE_BENEATH` is what keeps resolution inside; these checks
/// give a malformed path its own errno instead of whatever the kernel makes of it.
struct WASIPath {
    static let maxBytes = 4096

    let text: String

    init(_ bytes: [UInt8]) throws(WASIRefusal) {
        if bytes.isEmpty { throw .deny(.noEntry) }
        if bytes.count >= WASIPath.maxBytes { throw .deny(.nameTooLong) }
        if bytes.contains(0) { throw .deny(.invalid) }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .deny(.illegalSequence) }
        if bytes[0] == UInt8(ascii: "/") { throw .deny(.notCapable) }
        text = s
    }

    /// The directory part and the last component, for calls that act on a name in a directory.
    /// Trailing slashes are dropped (`trailingSlash` says there were some); a last component of
    /// `.` or `..` is returned as is for the caller to refuse.
    var split: (parent: String, last: String, trailingSlash: Bool) {
        var s = Substring(text)
        var trailing = false
        while s.count > 1, s.hasSuffix("/") { s = s.dropLast(); trailing = true }
        guard let slash = s.lastIndex(of: "/") else { return (".", String(s), trailing) }
        var parent = s[..<slash]
        while parent.hasSuffix("/") { parent = parent.dropLast() }
        return (parent.isEmpty ? "." : String(parent), String(s[s.index(after: slash)...]), trailing)
    }
}
