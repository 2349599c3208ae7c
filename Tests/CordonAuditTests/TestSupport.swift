import Foundation
@testable import CordonAudit
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String

    init(_ label: String = "audit") {
        var template = Array("/tmp/cordon-\(label)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }

    var log: String { path + "/audit.log" }
    var head: String { path + "/audit.log.head" }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    /// Active file plus archives, in directory order (the verifier must not care).
    func logFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0 == "audit.log" || ($0.hasPrefix("audit.log.0") && $0.count == "audit.log.".count + 20) }
            .shuffled().map { path + "/" + $0 }
    }
}

func readBytes(_ path: String) -> [UInt8] {
    (try? FileIO.readFile(path)) .flatMap { $0 } ?? []
}

func writeBytes(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Lines of a file, each without its newline.
func lines(_ path: String) -> [[UInt8]] {
    readBytes(path).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init)
}

func writeLines(_ path: String, _ ls: [[UInt8]]) {
    writeBytes(path, ls.flatMap { $0 + [0x0A] })
}

/// One event of every type callers can append, with realistic values.
func sampleEvents(tenant: String? = "acme", plugin: String = "thumbnailer") -> [AuditEvent] {
    [
        .supervisorStart(tenant: tenant, version: "0.1.0", pid: 4242),
        .pluginLoad(tenant: tenant, plugin: plugin, manifestName: "thumbnailer", manifestVersion: "1.2.3",
                    moduleSHA256: String(repeating: "AB", count: 32), policyName: "images",
                    policySHA256: String(repeating: "cd", count: 32), capabilities: ["clock", "log", "blob.read"]),
        .workerSpawn(tenant: tenant, plugin: plugin, pid: 31337, uid: 200_001,
                     requested: ["userns", "pidns", "netns", "mountns", "seccomp", "landlock", "rlimits"],
                     achieved: ["userns", "pidns", "netns", "mountns", "seccomp", "rlimits"], seccompMode: "notify"),
        .hostcall(tenant: tenant, plugin: plugin, pid: 31337, function: "blob.read", status: .ok, bytes: 4096),
        .hostcall(tenant: tenant, plugin: plugin, pid: 31337, function: "net.connect", status: .denied, bytes: 0),
        .capabilityDenied(tenant: tenant, plugin: plugin, pid: 31337, function: "net.connect", capability: "net"),
        .limitBreach(tenant: tenant, plugin: plugin, pid: 31337, limit: "memory", value: 64 << 20,
                     measured: 70 << 20, export: "render"),
        .limitBreach(tenant: tenant, plugin: plugin, pid: 31337, limit: "fuel", value: 1_000_000, measured: 1_000_001),
        .seccompViolation(tenant: tenant, plugin: plugin, pid: 31337, syscall: "socket", nr: 41, arch: "x86_64",
                          args: [2, 1, 0, 0, UInt64.max, 0], reportedBy: .kernel),
        .seccompViolation(tenant: tenant, plugin: plugin, pid: 31337, syscall: "ptrace", nr: 101, arch: "x86_64",
                          args: [], reportedBy: .worker),
        .protocolViolation(tenant: tenant, plugin: plugin, pid: 31337, reason: "frame length 9999999 exceeds ring"),
        .workerKill(tenant: tenant, plugin: plugin, pid: 31337, signal: 9, reason: "wall-clock limit"),
        .workerExit(tenant: tenant, plugin: plugin, pid: 31337, classification: "killed", signal: 9),
        .workerExit(tenant: tenant, plugin: plugin, pid: 31338, classification: "exited", status: 0),
        .workerRestart(tenant: tenant, plugin: plugin, attempt: 2, backoffMs: 400),
        .restartExhausted(tenant: tenant, plugin: plugin, restarts: 5, periodMs: 60_000),
        .pluginUnload(tenant: tenant, plugin: plugin, reason: "operator request"),
        .auditError(tenant: tenant, operation: "write", errno: 28),
        .requestRefused(tenant: tenant, plugin: plugin, method: "POST", path: "/v1/plugins/p1/calls/run", status: 429, code: "rate_limited"),
        .pluginPaused(tenant: tenant, plugin: plugin, pids: [31337, 31338]),
        .pluginResumed(tenant: tenant, plugin: plugin, pids: [31337, 31338]),
        .supervisorStop(tenant: tenant, reason: "SIGTERM \"graceful\"\n\u{1}ü"),
        .pluginCleanupFailed(tenant: tenant, plugin: plugin, pid: 31337, reason: "cordon_cleanup: unreachable\n\u{1B}[2J"),
    ]
}

/// Writes a small closed log of `count` records; returns the number of records in it.
@discardableResult
func makeLog(_ dir: TempDir, count: Int = 20, durability: AuditDurability = .fsyncEachRecord,
             rotation: AuditRotation = .never) throws -> Int {
    let log = try AuditLog(configuration: .init(path: dir.log, durability: durability, rotation: rotation,
                                                hostCallSampling: .all, defaultTenant: "default"))
    let events = sampleEvents()
    for i in 0..<count { try log.append(events[i % events.count]) }
    try log.close()
    return count + 1
}

/// Deterministic PRNG (SplitMix64) so crash points are reproducible from the seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs a command, returning exit status and stdout+stderr. Output goes through a file, not a
/// pipe: Foundation's pipe reads do not retry EINTR.
func run(_ executable: String, _ args: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    if let environment { p.environment = environment }
    let outPath = "/tmp/cordon-audit-run-\(getpid())-\(UInt64.random(in: 0 ... .max))"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    defer { unlink(outPath) }
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    p.standardOutput = out
    p.standardError = out
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try? out.close()
    return (p.terminationStatus, String(decoding: readBytes(outPath), as: UTF8.self))
}

/// The file broker's records (kept out of `sampleEvents`, whose count other tests rely on).
func fileBrokerSampleEvents(tenant: String? = "acme", plugin: String = "thumbnailer") -> [AuditEvent] {
    [
        .fsOpen(tenant: tenant, plugin: plugin, pid: 31337, path: "data/in.txt", read: true, write: false),
        .fsDenied(tenant: tenant, plugin: plugin, pid: 31337, function: "wasi.path_open", path: "../etc/passwd",
                  errno: "NOTCAPABLE"),
        .fsDenied(tenant: tenant, plugin: plugin, pid: 31337, function: "wasi.path_rename", path: "a",
                  target: "../b", errno: "NOTCAPABLE"),
    ]
}
