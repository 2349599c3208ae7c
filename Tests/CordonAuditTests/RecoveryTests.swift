import Foundation
import Testing
@testable import CordonAudit

@Suite struct RecoveryTests {
    @Test func tornTailIsMovedAsideAndTheChainContinues() throws {
        let dir = TempDir("recover")
        defer { dir.cleanup() }
        try makeLog(dir, count: 10)
        let intact = readBytes(dir.log)
        let torn = Array(#"{"data":{"reason":"half a rec"#.utf8)
        writeBytes(dir.log, intact + torn)
        let log = try AuditLog(configuration: .init(path: dir.log))
        let recovery = try #require(log.recovery)
        #expect(recovery.tornBytes == torn.count && recovery.resumedAfterSeq == 11)
        let movedTo = try #require(recovery.movedTo)
        #expect(readBytes(movedTo) == torn)  // never silently dropped
        #expect(movedTo.hasPrefix(dir.log + ".torn-"))
        try log.append(.supervisorStart(version: "2", pid: 2))
        try log.close()
        let records = try lines(dir.log).map { try AuditRecord(line: $0) }
        #expect(records[11].type == .auditRecovered && records[11].seq == 12)
        #expect(records[11].data["torn_bytes"] == .int(Int64(torn.count)))
        #expect(records[11].data["moved_to"] == .string(movedTo))
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: 14))
    }

    /// A crash after the torn bytes were moved but before `audit.recovered` was written: the next
    /// open writes the record (once) and gives the file its final name.
    @Test func interruptedRepairIsRecordedOnNextOpen() throws {
        let dir = TempDir("recover5")
        defer { dir.cleanup() }
        try makeLog(dir, count: 4)
        let final = dir.log + ".torn-20261125T120000.000000000Z"
        let torn = Array("{\"da".utf8)
        writeBytes(final + ".pending", torn)
        do {
            let log = try AuditLog(configuration: .init(path: dir.log, durability: .fsyncEachRecord))
            #expect(log.recovery?.moved == [AuditTornTail(bytes: 4, movedTo: final)])
            #expect(readBytes(final) == torn && !FileIO.exists(final + ".pending"))
            // Crash after the record but before the rename: the log is abandoned, not closed.
            rename(final, final + ".pending")
        }
        let again = try AuditLog(configuration: .init(path: dir.log))
        #expect(again.recovery?.moved == [AuditTornTail(bytes: 4, movedTo: final)])
        try again.close()
        #expect(readBytes(final) == torn && !FileIO.exists(final + ".pending"))
        let recovered = try lines(dir.log).map { try AuditRecord(line: $0) }.filter { $0.type == .auditRecovered }
        #expect(recovered.count == 1 && recovered[0].data["moved_to"] == .string(final))
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head).isOK)
    }

    @Test func unparsableFinalLineIsMovedAside() throws {
        let dir = TempDir("recover2")
        defer { dir.cleanup() }
        try makeLog(dir, count: 3)
        let intact = readBytes(dir.log)
        let junk = [UInt8](repeating: 0, count: 4096) + [0x0A]
        writeBytes(dir.log, intact + junk)
        let log = try AuditLog(configuration: .init(path: dir.log))
        #expect(log.recovery?.tornBytes == junk.count)
        try log.close()
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: 6))
    }

    @Test func twoBadLinesAreNotATornWriteAndAreLeftAlone() throws {
        let dir = TempDir("recover3")
        defer { dir.cleanup() }
        try makeLog(dir, count: 3)
        let damaged = readBytes(dir.log) + Array("garbage\nmore garbage\n".utf8)
        writeBytes(dir.log, damaged)
        #expect(throws: AuditError.self) { _ = try AuditLog(configuration: .init(path: dir.log)) }
        #expect(readBytes(dir.log) == damaged)
    }

    /// A crash after the rename but before the new active file was created.
    @Test func missingActiveFileContinuesFromNewestArchive() throws {
        let dir = TempDir("recover4")
        defer { dir.cleanup() }
        let config = AuditLogConfiguration(path: dir.log, durability: .fsyncEachRecord, rotation: .init(maxBytes: 1500))
        do {  // abandoned, not closed
            let log = try AuditLog(configuration: config)
            var i = 0
            while AuditLog.archives(of: dir.log).isEmpty {
                try log.append(.workerRestart(plugin: "p", attempt: i, backoffMs: 1))
                i += 1
            }
        }
        let archive = AuditLog.archives(of: dir.log)[0].path
        let rotate = try AuditRecord(line: lines(archive).last!)
        unlink(dir.log)
        try AuditHead(seq: rotate.seq, hash: rotate.hash).write(to: dir.head)
        let reopened = try AuditLog(configuration: config)
        #expect(reopened.lastSequence == rotate.seq)
        try reopened.append(.supervisorStart(version: "2", pid: 2))
        try reopened.close()
        let first = try AuditRecord(line: lines(dir.log)[0])
        #expect(first.seq == rotate.seq + 1 && first.prev == rotate.hash)
        #expect(AuditVerifier.verify(files: dir.logFiles(), head: dir.head) == .ok(records: Int(rotate.seq) + 2))
    }
}
