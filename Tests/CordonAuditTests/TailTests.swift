import Foundation
import Synchronization
import Testing
@testable import CordonAudit

@Suite struct TailTests {
    @Test func printsJSONLinesUnchangedAndFilters() throws {
        let dir = TempDir("tail")
        defer { dir.cleanup() }
        try makeLog(dir, count: 19)
        var out: [String] = []
        try AuditTail.run(file: dir.log, options: .init(), output: { out.append($0) })
        #expect(out.map { Array($0.utf8) } == lines(dir.log))

        out.removeAll()
        try AuditTail.run(file: dir.log, options: .init(types: ["worker.spawn", "worker.exit"]), output: { out.append($0) })
        #expect(out.count == 3)
        out.removeAll()
        try AuditTail.run(file: dir.log, options: .init(plugin: "thumbnailer", since: Date(timeIntervalSinceNow: -60)),
                          output: { out.append($0) })
        #expect(out.count == 17)
        out.removeAll()
        try AuditTail.run(file: dir.log, options: .init(since: Date(timeIntervalSinceNow: 60)), output: { out.append($0) })
        #expect(out.isEmpty)
    }

    @Test func humanLines() throws {
        let r = AuditRecord.seal(seq: 2, time: AuditTimestamp(seconds: 1_795_608_000, nanoseconds: 5),
                                 event: sampleEvents()[2], tenant: "acme", prev: AuditRecord.genesisHash).0
        #expect(AuditTail.humanLine(r) == "2026-11-25T12:00:00Z worker.spawn acme/thumbnailer pid=31337 uid=200001 "
            + "layers=userns,pidns,netns,mountns,seccomp,rlimits MISSING=landlock seccomp_mode=notify seq=2")
        let stop = AuditRecord.seal(seq: 3, time: AuditTimestamp(seconds: 1_795_608_000, nanoseconds: 5),
                                    event: .supervisorStop(reason: "bye now"), tenant: nil, prev: r.hash).0
        #expect(AuditTail.humanLine(stop) == #"2026-11-25T12:00:00Z supervisor.stop -/- reason="bye now" seq=3"#)
    }

    /// `-f` keeps up with appends and follows the chain into the new file after rotations.
    @Test func followsAppendsAcrossRotation() async throws {
        let dir = TempDir("follow")
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: .init(path: dir.log, durability: .groupCommit(maxDelay: .milliseconds(1)),
                                                    rotation: .init(maxBytes: 2048), hostCallSampling: .all))
        try log.append(.supervisorStart(version: "1", pid: 1))
        let stop = Atomic<Bool>(false)
        let seen = Mutex<[UInt64]>([])
        let path = dir.log
        let follower = Thread {
            try? AuditTail.run(file: path, options: .init(follow: true, pollInterval: .milliseconds(150),
                                                          shouldStop: { stop.load(ordering: .acquiring) }),
                               output: { line in
                                   if let r = try? AuditRecord(line: Array(line.utf8)) { seen.withLock { $0.append(r.seq) } }
                               })
        }
        follower.start()
        // Start appending once the follower has the first file open (it has printed seq 1).
        while seen.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
        for i in 0..<60 {
            try log.append(.workerRestart(plugin: "p", attempt: i, backoffMs: 1))
            if i % 20 == 0 { try await Task.sleep(for: .milliseconds(20)) }  // several rotations per 150 ms poll
        }
        try log.close()
        let last = log.lastSequence
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0.last ?? 0 }) < last && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        stop.store(true, ordering: .releasing)
        #expect(AuditLog.archives(of: dir.log).count >= 2)
        #expect(seen.withLock { $0 } == Array(1...last))
    }
}
