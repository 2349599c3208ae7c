import Crypto

/// One line of the audit log: an event plus the log's sequence number, timestamp and hash chain.
///
/// On disk a record is the canonical JSON (see `CanonicalJSON`) of the object
/// `{data, plugin, prev, seq, tenant, time, type, worker}` (keys in that, sorted, order) with
/// `,"hash":"<hex>"` inserted before the closing brace, then `\n`. `hash` is the lowercase hex
/// SHA-256 of exactly the bytes before that insertion, i.e. the canonical form of every field
/// except `hash` itself, `prev` included. So a consumer re-verifies a line with
/// `del(.hash)` → canonical JSON → SHA-256, without knowing anything else about Cordon.
public struct AuditRecord: Sendable, Hashable {
    /// Gapless sequence number, starting at 1, continuing across rotated files.
    public var seq: UInt64
    /// When the log assigned `seq` (wall clock, UTC).
    public var time: AuditTimestamp
    /// The event type.
    public var type: AuditEventType
    /// Tenant, or nil (JSON `null`).
    public var tenant: String?
    /// Plugin, or nil (JSON `null`).
    public var plugin: String?
    /// Worker pid, or nil (JSON `null`).
    public var worker: Int32?
    /// Type-specific fields (schema in `AuditEventType.fields`).
    public var data: [String: AuditValue]
    /// `hash` of the previous record; `AuditRecord.genesisHash` for seq 1.
    public var prev: String
    /// Hex SHA-256 of this record's canonical bytes without `hash`.
    public var hash: String

    /// `prev` of the very first record: 64 zeros.
    public static let genesisHash = String(repeating: "0", count: 64)

    public init(seq: UInt64, time: AuditTimestamp, type: AuditEventType, tenant: String?, plugin: String?,
                worker: Int32?, data: [String: AuditValue], prev: String, hash: String) {
        self.seq = seq
        self.time = time
        self.type = type
        self.tenant = tenant
        self.plugin = plugin
        self.worker = worker
        self.data = data
        self.prev = prev
        self.hash = hash
    }

    /// The canonical bytes that `hash` covers (no trailing newline).
    public func canonicalBytesWithoutHash() -> [UInt8] {
        var w = CanonicalJSONWriter(capacity: 384)
        encodeWithoutHash(into: &w)
        return w.bytes
    }

    /// Writes the fields in sorted key order: data, plugin, prev, seq, tenant, time, type, worker.
    func encodeWithoutHash(into w: inout CanonicalJSONWriter) {
        w.writeFragment("{\"data\":")
        w.writeObject(data)
        w.writeFragment(",\"plugin\":")
        if let plugin { w.writeString(plugin) } else { w.writeRaw("null") }
        w.writeFragment(",\"prev\":")
        w.writeString(prev)
        w.writeFragment(",\"seq\":")
        w.writeUInt(seq)
        w.writeFragment(",\"tenant\":")
        if let tenant { w.writeString(tenant) } else { w.writeRaw("null") }
        w.writeFragment(",\"time\":\"")
        time.appendRFC3339(to: &w.bytes)
        w.writeFragment("\",\"type\":")
        w.writeString(type.rawValue)
        w.writeFragment(",\"worker\":")
        if let worker { w.writeInt(Int64(worker)) } else { w.writeRaw("null") }
        w.writeFragment("}")
    }

    /// Hex SHA-256 of `canonicalBytesWithoutHash()`: what `hash` must equal.
    public func computeHash() -> String {
        hexString(SHA256.hash(data: canonicalBytesWithoutHash()))
    }

    /// The exact line written to the log, including the trailing newline.
    public func line() -> [UInt8] {
        var w = CanonicalJSONWriter(capacity: 448)
        encodeWithoutHash(into: &w)
        w.bytes.removeLast()
        w.writeFragment(",\"hash\":")
        w.writeString(hash)
        w.writeFragment("}\n")
        return w.bytes
    }

    /// Builds a record, computing `hash`, and returns it with its line (one encoding pass).
    static func seal(seq: UInt64, time: AuditTimestamp, event: AuditEvent, tenant: String?,
                     prev: String) -> (AuditRecord, [UInt8]) {
        var record = AuditRecord(seq: seq, time: time, type: event.type, tenant: tenant, plugin: event.plugin,
                                 worker: event.worker, data: event.data, prev: prev, hash: "")
        var w = CanonicalJSONWriter(capacity: 448)
        record.encodeWithoutHash(into: &w)
        let digest = SHA256.hash(data: w.bytes)
        w.bytes.removeLast()
        w.writeFragment(",\"hash\":")
        w.writeHexString(digest)
        w.writeFragment("}\n")
        record.hash = hexString(digest)
        return (record, w.bytes)
    }

    /// Parses one line (without its newline) and checks the schema. Does not check `hash`; compare
    /// `computeHash()` with `hash` for that.
    public init<C: Collection<UInt8>>(line: C) throws(AuditRecordError) {
        let value: AuditValue
        do { value = try CanonicalJSON.parse(line) } catch { throw .invalidJSON(error) }
        try self.init(value: value)
    }

    /// Builds a record from a parsed JSON object, checking every field's presence and type.
    public init(value: AuditValue) throws(AuditRecordError) {
        guard case .object(let o) = value else { throw .schema(field: "(record)") }
        let allowed: Set<String> = ["data", "plugin", "prev", "seq", "tenant", "time", "type", "worker", "hash"]
        if let extra = o.keys.sorted().first(where: { !allowed.contains($0) }) { throw .schema(field: extra) }
        guard let seqValue = o["seq"]?.intValue, seqValue >= 1 else { throw .schema(field: "seq") }
        guard let timeText = o["time"]?.stringValue,
              let time = AuditTimestamp(rfc3339: timeText, strict: true) else { throw .schema(field: "time") }
        guard let typeText = o["type"]?.stringValue, let type = AuditEventType(rawValue: typeText) else {
            throw .schema(field: "type")
        }
        func optionalString(_ key: String) throws(AuditRecordError) -> String? {
            switch o[key] {
            case .string(let s): return s
            case .null: return nil
            default: throw .schema(field: key)
            }
        }
        let tenant = try optionalString("tenant")
        let plugin = try optionalString("plugin")
        let worker: Int32?
        switch o["worker"] {
        case .int(let pid) where pid > 0 && pid <= Int64(Int32.max): worker = Int32(pid)
        case .null: worker = nil
        default: throw .schema(field: "worker")
        }
        guard let prev = o["prev"]?.stringValue, isSHA256Hex(prev) else { throw .schema(field: "prev") }
        guard let hash = o["hash"]?.stringValue, isSHA256Hex(hash) else { throw .schema(field: "hash") }
        guard let data = o["data"]?.objectValue else { throw .schema(field: "data") }
        if let bad = type.firstSchemaViolation(in: data) { throw .schema(field: "data.\(bad)") }
        self.init(seq: UInt64(seqValue), time: time, type: type, tenant: tenant, plugin: plugin, worker: worker,
                  data: data, prev: prev, hash: hash)
    }
}
