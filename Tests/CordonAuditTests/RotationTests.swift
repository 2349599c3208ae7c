import Foundation
import Testing
@testable import CordonAudit

@Suite struct RotationTests {
    @Test func chainVerifiesAcrossRotatedFilesInAnyOrder() throws {
        let dir = TempDir("rotate")
        defer { dir.cleanup() }
        let n = try makeLog(dir, count: 200, durability: .groupCommit(maxDelay: .milliseconds(2), maxBatch: 64),
                            rotation: .init(maxBytes: 8 * 1024))
        let files = dir.logFiles()
        #expect(files.count >= 5)
        let rotations = files.flatMap(lines).filter { (try? AuditRecord(line: $0))?.type == .logRotate }.count
        #expect(AuditVerifier.verify(files: files, head: dir.head) == .ok(records: n + rotations))
        // Each archive ends with log.rotate and is named after its first seq.
        for archive in AuditLog.archives(of: dir.log) {
            let ls = lines(archive.path)
            #expect(try AuditRecord(line: ls.first!).seq == archive.seq)
            #expect(try AuditRecord(line: ls.last!).type == .logRotate)
        }
        // Dropping an archive from the middle of the set is a gap.
        let archives = AuditLog.archives(of: dir.log)
        let withoutOne = files.filter { $0 != archives[2].path }
        guard case .failed(_, 1, archives[3].path, .seqGap(archives[2].seq, archives[3].seq)) =
            AuditVerifier.verify(files: withoutOne, head: dir.head) else {
            Issue.record("expected a seq gap at the start of \(archives[3].path)")
            return
        }
    }

    @Test func rotatesByAge() async throws {
        let dir = TempDir("age")
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: .init(path: dir.log, durability: .fsyncEachRecord,
                                                    rotation: .init(maxBytes: nil, maxAge: .seconds(1))))
        try log.append(.supervisorStart(version: "1", pid: 1))
        try log.append(.supervisorStop(reason: "a"))
        try await Task.sleep(for: .milliseconds(1100))
        try log.append(.supervisorStart(version: "1", pid: 2))
        try log.close()
        let archives = AuditLog.archives(of: dir.log)
        #expect(archives.count >= 1)
        let archived = try lines(archives[0].path).map { try AuditRecord(line: $0) }
        #expect(archived.map(\.type) == [.supervisorStart, .supervisorStop, .logRotate])
        #expect(AuditVerifier.verify(files: dir.logFiles(), head: dir.head).isOK)
    }

    /// A crash between writing log.rotate and renaming the file: reopening finishes the rotation.
    @Test func interruptedRotationIsCompletedOnOpen() throws {
        let dir = TempDir("rotcrash")
        defer { dir.cleanup() }
        let config = AuditLogConfiguration(path: dir.log, durability: .fsyncEachRecord, rotation: .init(maxBytes: 1500))
        do {  // the first writer is abandoned (not closed), like a crashed process
            let log = try AuditLog(configuration: config)
            var i = 0
            while AuditLog.archives(of: dir.log).isEmpty {
                try log.append(.workerRestart(plugin: "p", attempt: i, backoffMs: 1))
                i += 1
            }
        }
        // Reconstruct the state right after the log.rotate record was made durable, before the
        // rename: archive back in place, head naming log.rotate.
        let archive = AuditLog.archives(of: dir.log)[0].path
        let rotate = try AuditRecord(line: lines(archive).last!)
        #expect(rotate.type == .logRotate)
        unlink(dir.log)
        rename(archive, dir.log)
        try AuditHead(seq: rotate.seq, hash: rotate.hash).write(to: dir.head)
        let reopened = try AuditLog(configuration: config)
        #expect(reopened.recovery?.completedRotation == true)
        try reopened.append(.supervisorStop(reason: "x"))
        try reopened.close()
        #expect(AuditVerifier.verify(files: dir.logFiles(), head: dir.head).isOK)
        #expect(AuditLog.archives(of: dir.log).count == 1)
    }
}
