// libFuzzer target: the audit-log reader/verifier on an attacker-edited file.
//
// Files live in a private directory on tmpfs (/dev/shm). Input byte 0 (mod 4) picks the mode; the rest
// is split at the first 0x00 byte into part A and part B:
//   0  verify([A], head: nil, requireAnchor: false)            one edited log, no anchor
//   1  verify([A], head: B, requireAnchor: true)               log + edited head file
//   2  verify([A, B], head: nil, requireAnchor: false)         a rotated set, both files edited
//   3  AuditLog(configuration:) opened on A with head B (crash recovery of an edited log), then one
//      append and close, then verify the result — a log that recovery accepted and we appended to
//      must verify if the edited log verified before (apart from a torn tail, which recovery repairs) —
//      or recovery must have refused with a typed AuditError.
// Properties: no crash / ASan report; verify always returns a verdict; `summaryLine()` renders.
import CordonAudit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let directory: String = {
    let path = "/dev/shm/cordon-fuzz-audit-\(getpid())"
    mkdir(path, 0o700)
    return path
}()
let logPath = directory + "/audit.log"
let headPath = directory + "/audit.log.head"
let secondPath = directory + "/audit.log.00000000000000000001"

func write(_ path: String, _ bytes: ArraySlice<UInt8>) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "open \(path): \(errno)")
    bytes.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
            precondition(n > 0)
            off += n
        }
    }
    close(fd)
}

/// One event of most types, for the generated seed log (run.sh seed-audit).
let seedEvents: [AuditEvent] = [
    .supervisorStart(tenant: "acme", version: "0.1.0", pid: 4242),
    .pluginLoad(tenant: "acme", plugin: "p1", manifestName: "thumbnailer", manifestVersion: "1.2.3",
                moduleSHA256: String(repeating: "ab", count: 32), policyName: "default",
                policySHA256: String(repeating: "cd", count: 32), capabilities: ["random", "timer"]),
    .workerSpawn(tenant: "acme", plugin: "p1", pid: 31337, uid: 100_001, requested: ["namespace.net", "seccomp"],
                 achieved: ["seccomp"], seccompMode: "kill"),
    .hostcall(tenant: "acme", plugin: "p1", pid: 31337, function: "host_storage_get", status: .denied, bytes: 3),
    .capabilityDenied(tenant: "acme", plugin: "p1", pid: 31337, function: "host_storage_get", capability: "storage"),
    .limitBreach(tenant: "acme", plugin: "p1", pid: 31337, limit: "fuel", value: 1000, measured: 1001, export: "run"),
    .seccompViolation(tenant: "acme", plugin: "p1", pid: 31337, syscall: "socket", nr: 41, arch: "x86_64",
                      args: [2, 1, 0], reportedBy: .kernel),
    .protocolViolation(tenant: "acme", plugin: "p1", pid: 31337, reason: "bad magic 0x00"),
    .workerKill(tenant: "acme", plugin: "p1", pid: 31337, signal: 9, reason: "wall time"),
    .workerExit(tenant: "acme", plugin: "p1", pid: 31337, classification: "killed", signal: 9),
    .workerRestart(tenant: "acme", plugin: "p1", attempt: 1, backoffMs: 100),
    .restartExhausted(tenant: "acme", plugin: "p1", restarts: 5, periodMs: 60_000),
    .pluginUnload(tenant: "acme", plugin: "p1", reason: "done"),
    .auditError(tenant: "acme", operation: "fsync", errno: 5),
]

func clean() {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
        unlink(directory + "/" + name)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    let mode = all[0] % 4
    let rest = all[1...]
    let a: ArraySlice<UInt8>, b: ArraySlice<UInt8>
    if let zero = rest.firstIndex(of: 0) {
        a = rest[..<zero]
        b = rest[(zero + 1)...]
    } else {
        a = rest
        b = []
    }
    clean()
    write(logPath, a)
    let verdict: AuditVerification
    switch mode {
    case 0:
        verdict = AuditVerifier.verify(files: [logPath], head: nil, requireAnchor: false)
    case 1:
        write(headPath, b)
        verdict = AuditVerifier.verify(files: [logPath], head: headPath, requireAnchor: true)
    case 2:
        write(secondPath, b)
        verdict = AuditVerifier.verify(files: [secondPath, logPath], head: nil, requireAnchor: false)
    default:
        if !b.isEmpty { write(headPath, b) }
        let before = AuditVerifier.verify(files: [logPath], head: b.isEmpty ? nil : headPath, requireAnchor: false)
        var intactBefore = before.isOK
        if case .failed(_, _, _, .tornTail) = before { intactBefore = true }
        do throws(AuditError) {
            let log = try AuditLog(configuration: AuditLogConfiguration(path: logPath, durability: .fsyncEachRecord,
                                                                        rotation: .never))
            if ProcessInfo.processInfo.environment["CORDON_FUZZ_WRITE_SEED"] != nil {
                for event in seedEvents { _ = try log.append(event) }
            }
            _ = try log.append(.supervisorStop(tenant: "fuzz", reason: "fuzz"))
            try log.close()
        } catch {
            _ = "\(error)"
            clean()
            return 0
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("audit.log") && !$0.hasSuffix(".head") && !$0.contains("torn") }
            .map { directory + "/" + $0 }
        verdict = AuditVerifier.verify(files: files, head: headPath, requireAnchor: true)
        if let out = ProcessInfo.processInfo.environment["CORDON_FUZZ_WRITE_SEED"] {
            // Seed generation (run.sh seed-audit): keep the log and head the real AuditLog just wrote.
            for (from, name) in [(logPath, "audit.log"), (headPath, "audit.log.head")] {
                _ = try? FileManager.default.removeItem(atPath: out + "/" + name)
                try? FileManager.default.copyItem(atPath: from, toPath: out + "/" + name)
            }
        }
        if intactBefore && !verdict.isOK {
            fatalError("AuditLog accepted and recovered an edited log, appended, closed, but it does not verify: \(verdict.summaryLine())")
        }
    }
    _ = verdict.summaryLine()
    clean()
    return 0
}
