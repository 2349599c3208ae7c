import Foundation
import Testing
@testable import CordonAudit

/// Tampering and damage are each detected with the right reason, seq and line.
@Suite struct VerifierTests {
    /// A closed 31-record log (30 events + log.close) and its lines.
    func fixture(_ label: String) throws -> (TempDir, [[UInt8]]) {
        let dir = TempDir(label)
        try makeLog(dir, count: 30)
        return (dir, lines(dir.log))
    }

    @Test func editedRecordIsAHashMismatch() throws {
        let (dir, ls) = try fixture("edit")
        defer { dir.cleanup() }
        var edited = ls
        edited[9] = Array(String(decoding: ls[9], as: UTF8.self).replacingOccurrences(of: "thumbnailer", with: "thumbnai1er").utf8)
        #expect(edited[9] != ls[9])
        writeLines(dir.log, edited)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 10, line: 10, file: dir.log, reason: .hashMismatch))
    }

    @Test func editedAndRehashedRecordBreaksTheChain() throws {
        let (dir, ls) = try fixture("rehash")
        defer { dir.cleanup() }
        var r = try AuditRecord(line: ls[9])
        r.plugin = "innocent"
        r.hash = r.computeHash()
        var edited = ls
        edited[9] = Array(r.line().dropLast())
        writeLines(dir.log, edited)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 11, line: 11, file: dir.log, reason: .chainBroken))
    }

    @Test func deletedRecordIsASeqGap() throws {
        let (dir, ls) = try fixture("delete")
        defer { dir.cleanup() }
        var edited = ls
        edited.remove(at: 6)  // seq 7
        writeLines(dir.log, edited)
        let result = AuditVerifier.verify(files: [dir.log], head: dir.head)
        #expect(result == .failed(seq: 8, line: 7, file: dir.log, reason: .seqGap(expected: 7, found: 8)))
        #expect(result.exitCode == 65)
        #expect(result.summaryLine().hasPrefix("FAILED: seq 8 ("))
    }

    @Test func reorderedRecordsAreDetected() throws {
        let (dir, ls) = try fixture("reorder")
        defer { dir.cleanup() }
        var edited = ls
        edited.swapAt(4, 5)  // seq 5 and 6
        writeLines(dir.log, edited)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 6, line: 5, file: dir.log, reason: .reordered(expected: 5, found: 6)))
    }

    /// Cutting whole records off the end leaves a valid chain; only the head anchor catches it.
    @Test func truncationOfWholeRecordsAtTheEnd() throws {
        let (dir, ls) = try fixture("truncate")
        defer { dir.cleanup() }
        writeLines(dir.log, Array(ls.prefix(27)))
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 27, line: 27, file: dir.log, reason: .truncated(expectedLastSeq: 31)))
        // Without the head file the missing log.close gives it away.
        #expect(AuditVerifier.verify(files: [dir.log], head: nil)
            == .failed(seq: 27, line: 27, file: dir.log, reason: .unanchored))
        #expect(AuditVerifier.verify(files: [dir.log], head: nil, requireAnchor: false) == .ok(records: 27))
        // And reopening refuses to bury the evidence.
        #expect(throws: AuditError.anchorMismatch(headSeq: 31, logSeq: 27)) {
            _ = try AuditLog(configuration: .init(path: dir.log))
        }
        #expect(lines(dir.log).count == 27)
    }

    @Test func rewrittenTailIsAHeadMismatch() throws {
        let (dir, ls) = try fixture("headmismatch")
        defer { dir.cleanup() }
        var r = try AuditRecord(line: ls[30])
        r.time = AuditTimestamp(seconds: r.time.seconds + 1, nanoseconds: 0)
        r.hash = r.computeHash()
        writeLines(dir.log, Array(ls.prefix(30)) + [Array(r.line().dropLast())])
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 31, line: 0, file: dir.head, reason: .headMismatch(seq: 31)))
    }

    @Test func tornTailIsReportedAfterTheLastCompleteRecord() throws {
        let (dir, ls) = try fixture("torn")
        defer { dir.cleanup() }
        let partial = Array(ls[5].prefix(57))
        writeBytes(dir.log, ls.flatMap { $0 + [0x0A] } + partial)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 31, line: 32, file: dir.log, reason: .tornTail(bytes: 57)))
        // A zero-filled block (what ext4 can leave after power loss) ending in a newline, too.
        writeBytes(dir.log, ls.flatMap { $0 + [0x0A] } + [UInt8](repeating: 0, count: 99) + [0x0A])
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head)
            == .failed(seq: 31, line: 32, file: dir.log, reason: .tornTail(bytes: 100)))
    }

    @Test func garbageInTheMiddleIsInvalidJSON() throws {
        let (dir, ls) = try fixture("garbage")
        defer { dir.cleanup() }
        var edited = ls
        edited[3] = Array("{\"seq\":4,".utf8)
        writeLines(dir.log, edited)
        guard case .failed(nil, 4, dir.log, .invalidJSON) = AuditVerifier.verify(files: [dir.log], head: dir.head) else {
            Issue.record("expected invalidJSON at line 4")
            return
        }
    }

    @Test func missingFilesAndHeadAreUnreadable() {
        let r = AuditVerifier.verify(files: ["/nonexistent/audit.log"], head: nil)
        guard case .failed(_, _, _, .unreadable) = r else {
            Issue.record("\(r)")
            return
        }
        #expect(r.exitCode == 65)
    }
}
