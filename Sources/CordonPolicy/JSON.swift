// A small, strict JSON parser (RFC 8259) for policy files.
// Why not Foundation: JSONSerialization loses key order and silently merges duplicate keys, and neither
// it nor JSONDecoder reports a line/column. A policy with a duplicated key is ambiguous (two readers may
// pick different values), so duplicates are rejected here, with the exact JSON path.

/// The JSON kinds, as named in `PolicyError.Reason.wrongType`.
public enum JSONKind: String, Sendable, Hashable {
    case object, array, string, integer, number, boolean, null
}

/// Why bytes are not acceptable JSON.
public enum JSONSyntaxError: Sendable, Hashable, CustomStringConvertible {
    case unexpectedEnd
    case unexpectedCharacter(UInt8)
    case invalidEscape
    case invalidUnicodeEscape
    case controlCharacterInString
    case invalidUTF8
    case invalidNumber
    case nestingTooDeep(limit: Int)
    case trailingData

    public var description: String {
        switch self {
        case .unexpectedEnd: "unexpected end of input"
        case .unexpectedCharacter(let c):
            (0x21...0x7E).contains(c) ? "unexpected character '\(Character(Unicode.Scalar(c)))'"
                                      : "unexpected byte 0x\(String(c, radix: 16))"
        case .invalidEscape: "invalid escape sequence"
        case .invalidUnicodeEscape: "invalid \\u escape (bad hex or unpaired surrogate)"
        case .controlCharacterInString: "unescaped control character in string"
        case .invalidUTF8: "invalid UTF-8"
        case .invalidNumber: "invalid number"
        case .nestingTooDeep(let limit): "nesting deeper than \(limit)"
        case .trailingData: "data after the top-level value"
        }
    }
}

/// A parsed JSON value; objects keep their member order.
indirect enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The literal text of the number, so that 64-bit integers convert without a Double round trip.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    var kind: JSONKind {
        switch self {
        case .null: .null
        case .bool: .boolean
        case .number(let t): t.allSatisfy { $0 == "-" || $0.isASCII && $0.isNumber } ? .integer : .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }
}

/// Where the parser stopped, and why.
struct JSONParseFailure: Error {
    var error: JSONSyntaxError
    var offset: Int
    var line: Int
    var column: Int
    /// When set, the failure is a duplicate object key (not a syntax error): its path and the key.
    var duplicatePath: String?
    var duplicateKey: String?
}

/// Recursive-descent parser. Depth is bounded so a hostile file cannot exhaust the stack.
struct JSONParser {
    static let maxDepth = 64
    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) throws(JSONParseFailure) -> JSONValue {
        var parser = JSONParser(bytes)
        // A UTF-8 byte order mark is tolerated (editors add it); nothing else precedes the value.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0, path: "$")
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.failure(.trailingData) }
        return value
    }

    private func failure(_ error: JSONSyntaxError, at offset: Int? = nil) -> JSONParseFailure {
        let end = min(offset ?? index, bytes.count)
        var line = 1, column = 1
        for b in bytes[0..<end] {
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONParseFailure(error: error, offset: end, line: line, column: column)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(JSONParseFailure) -> JSONValue {
        for b in literal.utf8 {
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            guard bytes[index] == b else { throw failure(.unexpectedCharacter(bytes[index])) }
            index += 1
        }
        return value
    }

    private mutating func parseValue(depth: Int, path: String) throws(JSONParseFailure) -> JSONValue {
        guard depth < Self.maxDepth else { throw failure(.nestingTooDeep(limit: Self.maxDepth)) }
        guard index < bytes.count else { throw failure(.unexpectedEnd) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth, path: path)
        case UInt8(ascii: "["): return try parseArray(depth: depth, path: path)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure(.unexpectedCharacter(bytes[index]))
        }
    }

    private mutating func parseObject(depth: Int, path: String) throws(JSONParseFailure) -> JSONValue {
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            guard bytes[index] == UInt8(ascii: "\"") else { throw failure(.unexpectedCharacter(bytes[index])) }
            let keyOffset = index
            let key = try parseString()
            let memberPath = JSONPath.member(path, key)
            guard seen.insert(key).inserted else {
                var f = failure(.trailingData, at: keyOffset)
                f.duplicatePath = memberPath
                f.duplicateKey = key
                throw f
            }
            skipWhitespace()
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            guard bytes[index] == UInt8(ascii: ":") else { throw failure(.unexpectedCharacter(bytes[index])) }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1, path: memberPath)))
            skipWhitespace()
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw failure(.unexpectedCharacter(bytes[index]))
            }
        }
    }

    private mutating func parseArray(depth: Int, path: String) throws(JSONParseFailure) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1, path: "\(path)[\(elements.count)]"))
            skipWhitespace()
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw failure(.unexpectedCharacter(bytes[index]))
            }
        }
    }

    private mutating func hex4() throws(JSONParseFailure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure(.unexpectedEnd) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw failure(.invalidUnicodeEscape)
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    private mutating func parseString() throws(JSONParseFailure) -> String {
        index += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw failure(.unexpectedEnd) }
            let c = bytes[index]
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                // Validate rather than repair: a policy name with invalid UTF-8 is an error, not U+FFFD.
                guard let s = String(validating: out, as: UTF8.self) else { throw failure(.invalidUTF8) }
                return s
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure(.unexpectedEnd) }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 2 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw failure(.invalidUnicodeEscape) }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure(.invalidUnicodeEscape) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw failure(.invalidUnicodeEscape)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw failure(.invalidUnicodeEscape) }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw failure(.invalidEscape, at: index - 1)
                }
            case 0x00..<0x20: throw failure(.controlCharacterInString)
            default:
                out.append(c)
                index += 1
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseFailure) -> JSONValue {
        let start = index
        func isDigit(_ i: Int) -> Bool { i < bytes.count && (0x30...0x39).contains(bytes[i]) }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw failure(.invalidNumber) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw failure(.invalidNumber) }  // no leading zeros
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw failure(.invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw failure(.invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }
}

/// Builds JSON paths in the `$.a.b[3]` notation; keys that are not identifiers use `$["k y"]`.
enum JSONPath {
    static func member(_ base: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x5F
        }
        if plain { return "\(base).\(key)" }
        var quoted: [UInt8] = []
        CanonicalJSON.writeString(key, to: &quoted)
        return "\(base)[\(String(decoding: quoted, as: UTF8.self))]"
    }
}
