@testable import Cordon
import CordonAudit
import CordonPolicy
import Foundation
import Testing

/// A real worker under Docker's current default profile (Tests/Fixtures/seccomp/moby-default.json),
/// whose allow-list names syscalls newer than libseccomp 2.5.4.
///
/// The policy is composed as docs/policies.md tells an operator to: the profile, unmodified, as the
/// `seccomp` section of `policies/docker-default-compatible.json` (whose other sections are Cordon's).
/// Docker's list is a superset of what a worker calls, so nothing is added to it.
@Suite struct MobyProfileWorkerTests {
    static let fixture = ExamplesSupport.root + "/Tests/Fixtures/seccomp/moby-default.json"

    static func policyText() throws -> String {
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ExamplesSupport.root + "/policies/docker-default-compatible.json")))
        var object = try #require(base as? [String: Any])
        object["name"] = "moby-default"
        object["seccomp"] = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture)))
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func aWorkerUnderDockersCurrentDefaultProfileAnswersAndTheLoadRecordNamesTheSkippedSyscalls() async throws {
        let policy = try SandboxPolicy.parse(Array(try Self.policyText().utf8), file: "moby-default.json")
        let skipped = policy.seccomp.skippedSyscalls.map(\.name)
        #expect(!skipped.isEmpty)
        #expect(skipped.allSatisfy { !CordonPolicy.SyscallTable.isKnown($0) })
        let audit = try AuditLogHandle.temporary("moby")
        defer { audit.remove() }
        let supervisor = try Fixtures.supervisor(audit: audit)
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "moby"), module: try Fixtures.wasm(Fixtures.add),
                                               policy: policy)
        #expect(try await plugin.call("add", [.i32(2), .i32(3)]) == [.i32(5)])
        let pid = try #require(await plugin.workerPIDs().first)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("Seccomp:\t2"), "the worker runs under a filter")
        await supervisor.shutdown()
        let records = try audit.closeAndRead()
        let load = try #require(records.split(separator: "\n").first { $0.contains(#""type":"plugin.load""#) })
        let names = skipped.map { "\"\($0)\"" }.joined(separator: ",")
        #expect(load.contains(#""seccomp_skipped":[\#(names)]"#), "\(load)")
        #expect(load.contains(#""policy_name":"moby-default""#))
        // The log, with the new field, still verifies against the schema.
        #expect(AuditVerifier.verify(files: [audit.path], head: audit.log.headPath).isOK, "\(records)")
    }

    @Test(.enabled(if: ExamplesSupport.hasCordon, "cordon binary not built: swift build --product cordon"))
    func policyCheckPrintsTheSkippedSyscallsWithTheirPaths() async throws {
        let directory = try ExamplesSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/moby-default.json"
        try Self.policyText().write(toFile: file, atomically: true, encoding: .utf8)
        let policy = try SandboxPolicy.load(path: file)
        let check = try await ExamplesSupport.cordon(["policy", "check", file])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("valid: \(file) (policy moby-default)"))
        #expect(!policy.seccomp.skippedSyscalls.isEmpty)
        for skipped in policy.seccomp.skippedSyscalls {
            #expect(check.stdout.contains("# skipped: \(skipped.name) at \(skipped.path) "), "\(check.stdout.prefix(3000))")
        }
    }
}
