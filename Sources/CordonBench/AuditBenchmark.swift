// `cordon-bench audit`: append throughput of the hash-chained audit log with a real `worker.spawn`
// record, group commit vs fsync per record, side by side, on the file system of `--dir`.
// Results go in docs/performance.md, "## Audit log".
import CordonAudit
import Dispatch
import Foundation

/// Failure of the audit benchmark's own setup.
struct AuditBenchmarkError: Error, CustomStringConvertible {
    let description: String
}

/// Options of `cordon-bench audit`.
private struct AuditBenchOptions {
    var groupRecords = 500_000
    var fsyncRecords = 2_000
    var threads = 2
    var directory: String?
    var maxDelayMs = 5
    var maxBatch = 4096

    init(_ arguments: [String]) throws {
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < arguments.count else { throw AuditBenchmarkError(description: "\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        func int() throws -> Int {
            let text = try value()
            guard let v = Int(text), v > 0 else {
                throw AuditBenchmarkError(description: "\(arguments[i - 1]) needs a positive integer, got \(text)")
            }
            return v
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--records": groupRecords = try int()
            case "--fsync-records": fsyncRecords = try int()
            case "--threads": threads = try int()
            case "--dir": directory = try value()
            case "--max-delay-ms": maxDelayMs = try int()
            case "--max-batch": maxBatch = try int()
            case "-h", "--help":
                print("""
                usage: cordon-bench audit [--records N] [--fsync-records N] [--threads T] [--dir PATH]
                                          [--max-delay-ms MS] [--max-batch N]
                """)
                exit(0)
            default: throw AuditBenchmarkError(description: "unknown option \(arguments[i])")
            }
            i += 1
        }
    }
}

/// The record measured: what the supervisor writes for every worker it starts.
private func spawnEvent(_ i: Int) -> AuditEvent {
    .workerSpawn(tenant: "acme-corp", plugin: "image-thumbnailer", pid: Int32(100_000 + i % 50_000), uid: 200_001,
                 requested: ["userns", "pidns", "netns", "mountns", "ipcns", "seccomp", "landlock", "rlimits", "no_new_privs"],
                 achieved: ["userns", "pidns", "netns", "mountns", "ipcns", "seccomp", "rlimits", "no_new_privs"],
                 seccompMode: "notify")
}

private struct AuditRun {
    var label: String
    var records: Int
    var seconds: Double
    var perSecond: Double { Double(records) / seconds }
    var microsPerRecord: Double { seconds * 1e6 / Double(records) }
}

/// Appends `count` records from `threads` threads and closes the log; the time includes the final
/// commit, so every counted record is durable when the clock stops.
private func measure(_ label: String, directory: String, durability: AuditDurability, count: Int,
                     threads: Int) throws -> (AuditRun, String) {
    let path = directory + "/audit-\(UInt64.random(in: 0 ... .max)).log"
    let log = try AuditLog(configuration: .init(path: path, durability: durability, hostCallSampling: .all,
                                                defaultTenant: "bench"))
    let perThread = count / threads
    let errors = DispatchQueue(label: "errors")
    nonisolated(unsafe) var firstError: AuditError?
    let start = ContinuousClock.now
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        for i in 0..<perThread {
            do throws(AuditError) { try log.append(spawnEvent(t * perThread + i)) } catch {
                errors.sync { if firstError == nil { firstError = error } }
                return
            }
        }
    }
    try log.close()
    let elapsed = ContinuousClock.now - start
    if let firstError { throw firstError }
    let (s, atto) = elapsed.components
    let seconds = Double(s) + Double(atto) / 1e18
    return (AuditRun(label: label, records: perThread * threads + 1, seconds: seconds), path)
}

/// `cordon-bench audit [options]`: prints records/s for group commit and fsync-per-record.
func runAuditBenchmark(arguments: [String]) throws {
    let options = try AuditBenchOptions(arguments)
    let directory = options.directory
        ?? FileManager.default.temporaryDirectory.appendingPathComponent("cordon-audit-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }

    // Size of the measured record as written (seq/time vary by a few bytes).
    let probePath = directory + "/probe.log"
    let probe = try AuditLog(configuration: .init(path: probePath, defaultTenant: "bench"))
    try probe.append(spawnEvent(0))
    try probe.close()
    let recordBytes = (try String(contentsOfFile: probePath, encoding: .utf8)).split(separator: "\n")[0].utf8.count + 1

    print("audit log: worker.spawn record = \(recordBytes) bytes, dir \(directory)")
    let group = AuditDurability.groupCommit(maxDelay: .milliseconds(Int64(options.maxDelayMs)), maxBatch: options.maxBatch)
    var runs: [AuditRun] = []
    var verifyTarget: [String] = []
    for threads in Set([1, options.threads]).sorted() {
        let (run, path) = try measure("group commit (\(options.maxDelayMs) ms / \(options.maxBatch)), \(threads) thread\(threads == 1 ? "" : "s")",
                                      directory: directory, durability: group, count: options.groupRecords, threads: threads)
        runs.append(run)
        if verifyTarget.isEmpty { verifyTarget = [path] }
    }
    let (fsyncRun, _) = try measure("fsync per record, 1 thread", directory: directory, durability: .fsyncEachRecord,
                                    count: options.fsyncRecords, threads: 1)
    runs.append(fsyncRun)

    // Offline verification speed on the group-commit log (all of its rotated files).
    let active = verifyTarget[0]
    let base = (active as NSString).lastPathComponent
    let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0 == base || ($0.hasPrefix(base + ".") && $0.dropFirst(base.count + 1).allSatisfy(\.isNumber)) }
        .map { directory + "/" + $0 }
    let verifyStart = ContinuousClock.now
    let verdict = AuditVerifier.verify(files: files, head: active + ".head")
    let verifyElapsed = ContinuousClock.now - verifyStart
    guard case .ok(let verified) = verdict else {
        throw AuditBenchmarkError(description: "benchmark log does not verify: \(verdict.summaryLine())")
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
    print(pad("mode", 44) + lpad("records", 10) + lpad("seconds", 10) + lpad("records/s", 12) + lpad("µs/record", 11))
    for r in runs {
        print(pad(r.label, 44) + lpad("\(r.records)", 10) + lpad(String(format: "%.3f", r.seconds), 10)
              + lpad(String(format: "%.0f", r.perSecond), 12) + lpad(String(format: "%.2f", r.microsPerRecord), 11))
    }
    let (vs, va) = verifyElapsed.components
    let verifySeconds = Double(vs) + Double(va) / 1e18
    print(pad("verify (offline, \(files.count) file\(files.count == 1 ? "" : "s"))", 44) + lpad("\(verified)", 10)
          + lpad(String(format: "%.3f", verifySeconds), 10) + lpad(String(format: "%.0f", Double(verified) / verifySeconds), 12)
          + lpad(String(format: "%.2f", verifySeconds * 1e6 / Double(verified)), 11))
}
