import Foundation
import Testing
@testable import CordonAudit

@Suite struct SchemaTests {
    static var schemaPath: String {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/audit-event.schema.json").path
    }

    /// The published schema is exactly what the code generates from `AuditEventType.fields`.
    /// Regenerate with: CORDON_WRITE_AUDIT_SCHEMA=1 swift test --filter SchemaTests
    @Test func publishedSchemaMatchesTheCode() throws {
        let generated = AuditSchema.document()
        if ProcessInfo.processInfo.environment["CORDON_WRITE_AUDIT_SCHEMA"] == "1" {
            let tmp = Self.schemaPath + ".canonical"
            writeBytes(tmp, CanonicalJSON.encode(generated))
            let (status, out) = try run("/bin/sh", ["-c", "python3 -m json.tool --indent 2 \"$1\" > \"$2\" && rm \"$1\"",
                                                    "sh", tmp, Self.schemaPath])
            #expect(status == 0, "\(out)")
        }
        let published = try CanonicalJSON.parse(readBytes(Self.schemaPath))
        #expect(published == generated, "docs/audit-event.schema.json is stale; regenerate it")
    }

    /// Every event type the code can emit (callers' constructors and the log's own records)
    /// validates against the published schema with an independent validator (python jsonschema).
    @Test func everyEmittedEventValidatesAgainstTheSchema() throws {
        let dir = TempDir("schema")
        defer { dir.cleanup() }
        // Rotation and recovery so log.rotate and audit.recovered are emitted for real.
        let config = AuditLogConfiguration(path: dir.log, durability: .fsyncEachRecord,
                                           rotation: .init(maxBytes: 3000), hostCallSampling: .all)
        let log = try AuditLog(configuration: config)
        for e in sampleEvents() + fileBrokerSampleEvents() + sampleEvents(tenant: nil, plugin: "other") { try log.append(e) }
        try log.close()
        // Simulate an interrupted write, then reopen so audit.recovered is written.
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.log))
        try fh.seekToEnd()
        try fh.write(contentsOf: Data(#"{"data":{},"plu"#.utf8))
        try fh.close()
        let reopened = try AuditLog(configuration: config)
        #expect(reopened.recovery?.tornBytes ?? 0 > 0)
        try reopened.close()

        let all = dir.logFiles().flatMap { lines($0) }
        let types = Set(all.compactMap { try? AuditRecord(line: $0).type })
        #expect(types == Set(AuditEventType.allCases), "not every type was emitted: missing \(Set(AuditEventType.allCases).subtracting(types))")
        let linesFile = dir.path + "/all.jsonl"
        writeBytes(linesFile, all.flatMap { $0 + [0x0A] })
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        v = jsonschema.Draft202012Validator(schema)
        n = 0
        for line in open(sys.argv[2], encoding="utf-8"):
            errors = list(v.iter_errors(json.loads(line)))
            if errors:
                print("INVALID", line.strip(), [e.message for e in errors]); sys.exit(1)
            n += 1
        # The schema must also reject what the verifier rejects.
        bad = json.loads(open(sys.argv[2], encoding="utf-8").readline())
        bad["data"]["unexpected"] = 1
        assert list(v.iter_errors(bad)), "extra data field accepted"
        print("valid", n)
        """
        let (status, out) = try run("/usr/bin/env", ["python3", "-c", script, Self.schemaPath, linesFile])
        #expect(status == 0, "\(out)")
        #expect(out.contains("valid \(all.count)"))
    }

    /// The verifier's own schema check rejects wrong field types even when the hash is recomputed.
    @Test func verifierChecksSchemaPerType() throws {
        let dir = TempDir("schema2")
        defer { dir.cleanup() }
        try makeLog(dir, count: 5)
        var ls = lines(dir.log)
        var r = try AuditRecord(line: ls[2])  // worker.spawn
        #expect(r.type == .workerSpawn)
        r.data["uid"] = "200001"
        r.hash = r.computeHash()
        ls[2] = Array(r.line().dropLast())
        writeLines(dir.log, ls)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 3, line: 3, file: dir.log, reason: .schema(field: "data.uid")))
    }
}
