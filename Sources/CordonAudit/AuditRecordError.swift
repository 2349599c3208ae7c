/// Why a line is not a valid audit record.
public enum AuditRecordError: Error, Hashable, Sendable {
    /// Not a JSON object Cordon could have written (syntax, floats, duplicate keys, bad UTF-8).
    case invalidJSON(JSONParseError)
    /// A field is missing, has the wrong type, or is not allowed; `data.<name>` for data fields.
    case schema(field: String)
}
