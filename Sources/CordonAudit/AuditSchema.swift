/// The JSON Schema (draft 2020-12) of an audit record, generated from `AuditEventType.fields` so
/// the published schema (`docs/audit-event.schema.json`) and the verifier cannot drift apart
/// (a test compares them).
public enum AuditSchema {
    /// Canonical `$id` of the schema.
    public static let id = "https://cordon.dev/schemas/audit-event.schema.json"

    /// The schema document.
    public static func document() -> AuditValue {
        let int64: AuditValue = ["type": "integer", "minimum": .int(Int64.min), "maximum": .int(Int64.max)]
        var defs: [String: AuditValue] = [
            "sha256": ["type": "string", "pattern": "^[0-9a-f]{64}$"],
            "int64": int64,
        ]
        var conditions: [AuditValue] = []
        for type in AuditEventType.allCases {
            var properties: [String: AuditValue] = [:]
            for f in type.fields { properties[f.name] = schema(for: f.kind) }
            defs["data." + type.rawValue] = [
                "type": "object",
                "additionalProperties": false,
                "required": .array(type.fields.filter(\.required).map { .string($0.name) }),
                "properties": .object(properties),
            ]
            conditions.append([
                "if": ["properties": ["type": ["const": .string(type.rawValue)]]],
                "then": ["properties": ["data": ["$ref": .string("#/$defs/data." + type.rawValue)]]],
            ])
        }
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": .string(id),
            "title": "Cordon audit record",
            "description": "One line of a Cordon audit log (JSON Lines). See docs/audit-log.md.",
            "type": "object",
            "additionalProperties": false,
            "required": ["data", "hash", "plugin", "prev", "seq", "tenant", "time", "type", "worker"],
            "properties": [
                "seq": ["type": "integer", "minimum": 1, "maximum": .int(Int64.max)],
                "time": ["type": "string",
                         "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$"],
                "type": ["enum": .array(AuditEventType.allCases.map { .string($0.rawValue) })],
                "tenant": ["type": ["string", "null"]],
                "plugin": ["type": ["string", "null"]],
                "worker": ["type": ["integer", "null"], "minimum": 1, "maximum": .int(Int64(Int32.max))],
                "data": ["type": "object"],
                "prev": ["$ref": "#/$defs/sha256"],
                "hash": ["$ref": "#/$defs/sha256"],
            ],
            "allOf": .array(conditions),
            "$defs": .object(defs),
        ]
    }

    private static func schema(for kind: AuditFieldKind) -> AuditValue {
        switch kind {
        case .string: return ["type": "string"]
        case .int: return ["$ref": "#/$defs/int64"]
        case .bool: return ["type": "boolean"]
        case .sha256: return ["$ref": "#/$defs/sha256"]
        case .stringArray: return ["type": "array", "items": ["type": "string"]]
        case .intArray: return ["type": "array", "items": ["$ref": "#/$defs/int64"]]
        case .oneOf(let values): return ["enum": .array(values.map { .string($0) })]
        }
    }
}
