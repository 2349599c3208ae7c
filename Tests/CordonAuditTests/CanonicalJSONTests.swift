import Foundation
import Testing
@testable import CordonAudit

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysAndEscapesPerRFC8785() {
        let v: AuditValue = ["b": 1, "a": ["x": "q\"\\\n\t\u{1}/é\u{7f}", "A": -9_223_372_036_854_775_808], "c": [true, nil, 0]]
        #expect(v.canonicalJSON == #"{"a":{"A":-9223372036854775808,"x":"q\"\\\n\t\u0001/é\#u{7f}"},"b":1,"c":[true,null,0]}"#)
    }

    @Test func parseRoundTripsAndIsStrict() throws {
        let v: AuditValue = ["k": ["s": "π \u{1F600} \u{0}", "n": 42, "neg": -1, "arr": [[], [:]]]]
        #expect(try CanonicalJSON.parse(v.canonicalJSON) == v)
        #expect(try CanonicalJSON.parse(#" { "a" : "\u00e9\ud83d\ude00" } "#) == ["a": "é\u{1F600}"])
        for bad in [#"{"a":1.5}"#, #"{"a":1e3}"#, #"{"a":1,"a":2}"#, #"{"a":01}"#, "{\"a\":\"\u{1}\"}", #"{"a":1} x"#,
                    #"{"a":"\ud800"}"#, #"{"a":99999999999999999999}"#, "{", ""] {
            #expect(throws: JSONParseError.self) { try CanonicalJSON.parse(bad) }
        }
        #expect(throws: JSONParseError.self) { try CanonicalJSON.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func timestampsFormatAndParse() {
        let t = AuditTimestamp(seconds: 1_795_608_000, nanoseconds: 123_456_789)
        #expect(t.description == "2026-11-25T12:00:00.123456789Z")
        #expect(t.secondsDescription == "2026-11-25T12:00:00Z")
        #expect(AuditTimestamp(rfc3339: t.description, strict: true) == t)
        #expect(AuditTimestamp(rfc3339: "2026-11-25T12:00:00Z") == AuditTimestamp(seconds: 1_795_608_000, nanoseconds: 0))
        #expect(AuditTimestamp(rfc3339: "2026-11-25T12:00:00Z", strict: true) == nil)
        #expect(AuditTimestamp(rfc3339: "2026-02-30T12:00:00Z") == nil)
        #expect(AuditTimestamp(seconds: -1, nanoseconds: 0).description == "1969-12-31T23:59:59.000000000Z")
        #expect(AuditTimestamp(seconds: 951_782_400, nanoseconds: 5).description == "2000-02-29T00:00:00.000000005Z")
    }

    /// The documented consumer recipes reproduce `hash` with nothing but jq/python and sha256sum.
    @Test func externalToolsReproduceTheHash() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try makeLog(dir, count: 19)
        let script = """
        set -e
        while IFS= read -r line; do
          want=$(printf '%s' "$line" | jq -r .hash)
          got=$(printf '%s' "$line" | jq -cSj 'del(.hash)' | sha256sum | cut -d' ' -f1)
          [ "$want" = "$got" ] || { echo "jq mismatch: $line"; exit 1; }
        done < "$1"
        python3 -c '
        import json, hashlib, sys
        for line in open(sys.argv[1], encoding="utf-8"):
            r = json.loads(line); h = r.pop("hash")
            c = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            assert hashlib.sha256(c).hexdigest() == h, line
        ' "$1"
        echo fine
        """
        let (status, output) = try run("/bin/sh", ["-c", script, "sh", dir.log])
        #expect(status == 0, "\(output)")
    }
}
