import CordonPolicy
import Testing

/// The optional `wasi` section: defaults when absent, each key optional, ranges with JSON paths,
/// and a canonical form that leaves the digest of a policy without it unchanged.
@Suite struct WASIPolicyTests {
    @Test func absentSectionIsTheDefaults() throws {
        let p = try SandboxPolicy.parse(policyJSON(), file: "test.json")
        #expect(p.wasi == .standard)
        #expect(p.wasi.maxOpenFiles == 64 && p.wasi.maxWriteBytesPerCall == 64 << 20)
        #expect(p.wasi.maxOutputBytes == 1 << 20 && p.wasi.clockResolutionNanoseconds == 1000)
        #expect(!String(decoding: p.canonicalJSON, as: UTF8.self).contains("wasi"))
    }

    @Test func keysAreOptionalAndRoundTrip() throws {
        let p = try SandboxPolicy.parse(policyJSON(extra: #","wasi":{"maxOpenFiles":8,"maxOutputBytes":0}"#), file: "test.json")
        #expect(p.wasi == WASIPolicy(maxOpenFiles: 8, maxOutputBytes: 0))
        let canonical = p.canonicalJSON
        #expect(String(decoding: canonical, as: UTF8.self).contains(
            #""wasi":{"clockResolutionNanoseconds":1000,"maxOpenFiles":8,"maxOutputBytes":0,"maxWriteBytesPerCall":67108864}"#))
        #expect(try SandboxPolicy.parse(canonical, file: "canonical.json") == p)
    }

    @Test func errorsNameTheJSONPath() {
        expectError(policyJSON(extra: #","wasi":{"maxOpenFiles":3}"#), path: "$.wasi.maxOpenFiles",
                    .outOfRange(value: "3", range: WASIPolicy.openFilesRange))
        expectError(policyJSON(extra: #","wasi":{"clockResolutionNanoseconds":0}"#), path: "$.wasi.clockResolutionNanoseconds",
                    .outOfRange(value: "0", range: WASIPolicy.clockResolutionRange))
        expectError(policyJSON(extra: #","wasi":{"maxWriteBytesPerCall":0}"#), path: "$.wasi.maxWriteBytesPerCall",
                    .outOfRange(value: "0", range: WASIPolicy.writeBytesRange))
        expectError(policyJSON(extra: #","wasi":{"preopens":[]}"#), path: "$.wasi.preopens", .unknownKey("preopens"))
        expectError(policyJSON(extra: #","wasi":[]"#), path: "$.wasi", .wrongType(expected: .object, found: .array))
    }
}
