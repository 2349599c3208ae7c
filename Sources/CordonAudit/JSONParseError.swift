/// Why a JSON text could not be parsed: byte offset and a short reason.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Byte offset into the input where parsing stopped.
    public var offset: Int
    /// What was wrong there.
    public var message: String

    public var description: String { "JSON error at byte \(offset): \(message)" }
}
