import CordonPolicy

/// What is wrong with a JSON document from a config file or a client, at which JSON path.
public struct JSONInputError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Reads one JSON object field by field, each read naming its JSON path in errors; `finish()`
/// refuses the keys nobody asked for, so a misspelt option is an error, never a silent default.
struct JSONObjectReader {
    let path: String
    private let members: [(key: String, value: StrictJSONValue)]
    private var taken: Set<String> = []

    init(_ value: StrictJSONValue, path: String) throws(JSONInputError) {
        guard case .object(let members) = value else {
            throw JSONInputError(path: path, reason: "expected an object, found \(value.kindName)")
        }
        self.path = path
        self.members = members
    }

    static func parse(_ bytes: [UInt8]) throws(JSONInputError) -> JSONObjectReader {
        let value: StrictJSONValue
        do { value = try StrictJSON.parse(bytes) } catch { throw JSONInputError(path: "$", reason: "not valid JSON: \(error)") }
        return try JSONObjectReader(value, path: "$")
    }

    func childPath(_ key: String) -> String { "\(path).\(key)" }

    mutating func value(_ key: String) -> StrictJSONValue? {
        taken.insert(key)
        guard let found = members.first(where: { $0.key == key })?.value else { return nil }
        if case .null = found { return nil }
        return found
    }

    mutating func require(_ key: String) throws(JSONInputError) -> StrictJSONValue {
        guard let v = value(key) else { throw JSONInputError(path: childPath(key), reason: "is required") }
        return v
    }

    mutating func string(_ key: String) throws(JSONInputError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw JSONInputError(path: childPath(key), reason: "expected a string, found \(v.kindName)") }
        return s
    }

    mutating func requiredString(_ key: String) throws(JSONInputError) -> String {
        guard let s = try string(key) else { throw JSONInputError(path: childPath(key), reason: "is required") }
        return s
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(JSONInputError) -> Int64? {
        guard let v = value(key) else { return nil }
        return try Self.integer(v, path: childPath(key), in: range)
    }

    static func integer(_ v: StrictJSONValue, path: String, in range: ClosedRange<Int64>) throws(JSONInputError) -> Int64 {
        guard case .number(let text) = v, let n = Int64(text) else {
            throw JSONInputError(path: path, reason: "expected an integer, found \(v.kindName)")
        }
        guard range.contains(n) else { throw JSONInputError(path: path, reason: "\(n) is outside \(range.lowerBound)…\(range.upperBound)") }
        return n
    }

    mutating func strings(_ key: String) throws(JSONInputError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw JSONInputError(path: childPath(key), reason: "expected an array of strings, found \(v.kindName)") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                throw JSONInputError(path: "\(childPath(key))[\(i)]", reason: "expected a string, found \(item.kindName)")
            }
            out.append(s)
        }
        return out
    }

    mutating func object(_ key: String) throws(JSONInputError) -> JSONObjectReader? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader(v, path: childPath(key))
    }

    /// Every member as a string-to-string map (plugin configuration).
    func stringMap() throws(JSONInputError) -> [String: String] {
        var out: [String: String] = [:]
        for member in members {
            guard case .string(let s) = member.value else {
                throw JSONInputError(path: childPath(member.key), reason: "expected a string, found \(member.value.kindName)")
            }
            out[member.key] = s
        }
        return out
    }

    func finish() throws(JSONInputError) {
        if let unknown = members.first(where: { !taken.contains($0.key) }) {
            throw JSONInputError(path: childPath(unknown.key), reason: "unknown key")
        }
    }
}
