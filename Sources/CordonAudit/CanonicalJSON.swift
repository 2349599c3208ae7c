/// The canonical JSON form Cordon hashes, and a strict parser for reading records back.
///
/// Canonical form (a subset of RFC 8785, JCS, restricted to the values `AuditValue` can hold):
/// - no whitespace anywhere outside strings;
/// - object keys sorted by their UTF-16 code units (for the ASCII keys Cordon emits: byte order),
///   each key at most once;
/// - integers in shortest decimal form: optional `-`, no leading zeros, no `+`, no fraction or
///   exponent; floating point is never emitted and is rejected when parsing;
/// - strings as raw UTF-8 except: `"` → `\"`, `\` → `\\`, U+0008 → `\b`, U+0009 → `\t`,
///   U+000A → `\n`, U+000C → `\f`, U+000D → `\r`, other U+0000…U+001F → `\u00xx` (lowercase hex).
///   Nothing else is escaped (not `/`, not U+007F, not non-ASCII).
/// - `true`, `false`, `null` in lowercase.
public enum CanonicalJSON {
    /// Canonical bytes of `value`.
    public static func encode(_ value: AuditValue) -> [UInt8] {
        var w = CanonicalJSONWriter()
        w.write(value)
        return w.bytes
    }

    /// Parses one JSON text (any whitespace allowed) into an `AuditValue`. Rejects floats,
    /// duplicate keys, invalid UTF-8, unescaped control characters and trailing garbage.
    public static func parse<C: Collection<UInt8>>(_ bytes: C) throws(JSONParseError) -> AuditValue {
        let result: Result<AuditValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buf in
            var p = JSONParser(buf)
            return Result { () throws(JSONParseError) -> AuditValue in try p.parseDocument() }
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buf throws(JSONParseError) -> AuditValue in
            var p = JSONParser(buf)
            return try p.parseDocument()
        }
    }

    /// Parses a JSON text held in a `String`.
    public static func parse(_ text: String) throws(JSONParseError) -> AuditValue {
        try parse(Array(text.utf8))
    }
}

/// Appends canonical JSON to a byte buffer; used on the hot append path, so it avoids `String`
/// round trips and intermediate allocations.
struct CanonicalJSONWriter {
    var bytes: [UInt8]

    init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: AuditValue) {
        switch value {
        case .string(let s): writeString(s)
        case .int(let i): writeInt(i)
        case .bool(let b): writeRaw(b ? "true" : "false")
        case .null: writeRaw("null")
        case .array(let a):
            bytes.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(v)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o):
            writeObject(o)
        }
    }

    mutating func writeObject(_ o: [String: AuditValue]) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in CanonicalJSONWriter.sortedEntries(o) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            writeString(key)
            bytes.append(UInt8(ascii: ":"))
            write(value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Entries in RFC 8785 order: by UTF-16 code units. UTF-8 byte order is the same except when
    /// comparing U+E000…U+FFFF with supplementary characters (lead bytes 0xEE…0xF4), so the cheap
    /// byte comparison is used unless such a byte occurs (never, for Cordon's ASCII keys).
    static func sortedEntries(_ o: [String: AuditValue]) -> [(key: String, value: AuditValue)] {
        o.sorted { a, b in
            var a = a.key, b = b.key
            let simple = a.withUTF8 { !$0.contains { $0 >= 0xEE } } && b.withUTF8 { !$0.contains { $0 >= 0xEE } }
            return simple ? a.utf8.lexicographicallyPrecedes(b.utf8) : a.utf16.lexicographicallyPrecedes(b.utf16)
        }
    }

    mutating func writeRaw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Writes a key or fixed ASCII fragment, e.g. `,"seq":`.
    mutating func writeFragment(_ s: StaticString) { writeRaw(s) }

    mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let c = utf8[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                switch c {
                case 0x22: bytes.append(UInt8(ascii: "\\")); bytes.append(0x22)
                case 0x5C: bytes.append(UInt8(ascii: "\\")); bytes.append(0x5C)
                case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                default:
                    writeRaw("\\u00")
                    bytes.append(hexDigit(c >> 4))
                    bytes.append(hexDigit(c & 0xF))
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func writeInt(_ i: Int64) {
        if i < 0 {
            bytes.append(UInt8(ascii: "-"))
            writeUInt(i.magnitude)
        } else {
            writeUInt(UInt64(i))
        }
    }

    mutating func writeUInt(_ u: UInt64) {
        if u == 0 { bytes.append(UInt8(ascii: "0")); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = u
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 {
                d[count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            for k in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[k]) }
        }
    }

    /// Appends `bytes` as lowercase hexadecimal, inside quotes.
    mutating func writeHexString<B: Sequence<UInt8>>(_ raw: B) {
        bytes.append(UInt8(ascii: "\""))
        for b in raw {
            bytes.append(hexDigit(b >> 4))
            bytes.append(hexDigit(b & 0xF))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

@inline(__always)
func hexDigit(_ v: UInt8) -> UInt8 {
    v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10
}

/// Lowercase hex of `bytes`.
func hexString<B: Sequence<UInt8>>(_ bytes: B) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in bytes {
        out.append(hexDigit(b >> 4))
        out.append(hexDigit(b & 0xF))
    }
    return String(decoding: out, as: UTF8.self)
}

/// A strict recursive-descent JSON parser over a byte buffer.
struct JSONParser {
    let buf: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0

    init(_ buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

    mutating func parseDocument() throws(JSONParseError) -> AuditValue {
        skipWhitespace()
        let v = try parseValue()
        skipWhitespace()
        if i != buf.count { throw fail("trailing characters") }
        return v
    }

    func fail(_ message: String) -> JSONParseError { JSONParseError(offset: i, message: message) }

    mutating func skipWhitespace() {
        while i < buf.count {
            switch buf[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString) throws(JSONParseError) {
        let n = literal.utf8CodeUnitCount
        guard i + n <= buf.count else { throw fail("truncated literal") }
        let p = literal.utf8Start
        for k in 0..<n where buf[i + k] != p[k] { throw fail("invalid literal") }
        i += n
    }

    mutating func parseValue() throws(JSONParseError) -> AuditValue {
        guard i < buf.count else { throw fail("unexpected end of input") }
        switch buf[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try parseInt())
        default: throw fail("unexpected character")
        }
    }

    mutating func parseObject() throws(JSONParseError) -> AuditValue {
        depth += 1
        defer { depth -= 1 }
        if depth > 64 { throw fail("nesting too deep") }
        i += 1
        var result: [String: AuditValue] = [:]
        skipWhitespace()
        if i < buf.count && buf[i] == UInt8(ascii: "}") { i += 1; return .object(result) }
        while true {
            skipWhitespace()
            guard i < buf.count, buf[i] == UInt8(ascii: "\"") else { throw fail("expected object key") }
            let keyOffset = i
            let key = try parseString()
            skipWhitespace()
            guard i < buf.count, buf[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipWhitespace()
            let value = try parseValue()
            if result.updateValue(value, forKey: key) != nil {
                throw JSONParseError(offset: keyOffset, message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard i < buf.count else { throw fail("unterminated object") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "}") { i += 1; return .object(result) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(JSONParseError) -> AuditValue {
        depth += 1
        defer { depth -= 1 }
        if depth > 64 { throw fail("nesting too deep") }
        i += 1
        var result: [AuditValue] = []
        skipWhitespace()
        if i < buf.count && buf[i] == UInt8(ascii: "]") { i += 1; return .array(result) }
        while true {
            skipWhitespace()
            result.append(try parseValue())
            skipWhitespace()
            guard i < buf.count else { throw fail("unterminated array") }
            if buf[i] == UInt8(ascii: ",") { i += 1; continue }
            if buf[i] == UInt8(ascii: "]") { i += 1; return .array(result) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseInt() throws(JSONParseError) -> Int64 {
        let start = i
        var negative = false
        if buf[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9") else {
            throw fail("expected digit")
        }
        if buf[i] == UInt8(ascii: "0"), i + 1 < buf.count,
           buf[i + 1] >= UInt8(ascii: "0"), buf[i + 1] <= UInt8(ascii: "9") {
            throw fail("leading zero")
        }
        var magnitude: UInt64 = 0
        while i < buf.count, buf[i] >= UInt8(ascii: "0"), buf[i] <= UInt8(ascii: "9") {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(buf[i] - UInt8(ascii: "0")))
            if o1 || o2 { throw JSONParseError(offset: start, message: "integer out of range") }
            magnitude = m2
            i += 1
        }
        if i < buf.count, buf[i] == UInt8(ascii: ".") || buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E") {
            throw JSONParseError(offset: start, message: "non-integer number (audit records carry integers only)")
        }
        if negative {
            if magnitude > UInt64(Int64.max) + 1 { throw JSONParseError(offset: start, message: "integer out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw JSONParseError(offset: start, message: "integer out of range") }
        return Int64(magnitude)
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard i + 4 <= buf.count else { throw fail("truncated \\u escape") }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let c = buf[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt16(d)
            i += 1
        }
        return v
    }

    mutating func parseString() throws(JSONParseError) -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buf[start..<i])
                guard let s = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("unescaped control character in string") }
            i += 1
        }
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: buf[start..<i]))
        while i < buf.count {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
                i += 1
                return s
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < buf.count else { break }
            let e = buf[i]
            i += 1
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
                let u = try parseHex4()
                var scalar: UInt32
                if (0xD800...0xDBFF).contains(u) {
                    guard i + 6 <= buf.count, buf[i] == UInt8(ascii: "\\"), buf[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    i += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((UInt32(u) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(u) {
                    throw fail("unpaired surrogate")
                } else {
                    scalar = UInt32(u)
                }
                guard let us = Unicode.Scalar(scalar) else { throw fail("invalid scalar") }
                out.append(contentsOf: String(Character(us)).utf8)
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }
}
