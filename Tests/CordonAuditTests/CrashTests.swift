import Foundation
import Testing
import XCTest
@testable import CordonAudit
#if canImport(Glibc)
import Glibc
#endif

/// The writer half of the crash test. It is an XCTest method so the test bundle can re-exec itself
/// (`/proc/self/exe CordonAuditTests.CrashWriterChild/testWriterProcess`) as the victim process;
/// in a normal test run the environment variable is absent and it returns at once.
final class CrashWriterChild: XCTestCase {
    func testWriterProcess() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env["CORDON_AUDIT_CRASH_WRITER"], let seed = env["CORDON_AUDIT_CRASH_SEED"].flatMap(UInt64.init)
        else { return }
        var rng = SplitMix64(seed: seed)
        let durability: AuditDurability = rng.next() % 3 == 0
            ? .fsyncEachRecord
            : .groupCommit(maxDelay: .microseconds(Int64(rng.next() % 5000)), maxBatch: Int(1 + rng.next() % 256))
        let log = try AuditLog(configuration: .init(path: path, durability: durability,
                                                    rotation: .init(maxBytes: 24 * 1024), hostCallSampling: .all))
        let events = sampleEvents()
        // One writer in five is killed in the middle of its write(2) on purpose, as a SIGKILL that
        // lands while the kernel copies the line can leave it: everything appended so far is
        // committed, then a prefix of one more line is in the file when the kill comes.
        let tearAfter: Int? = rng.next() % 5 == 0 ? Int(1 + rng.next() % 16) : nil
        var appended = 0
        while true {
            let receipt = try log.append(events[Int(rng.next() % UInt64(events.count))])
            appended += 1
            if appended == tearAfter {
                while log.durableSequence < receipt.seq { usleep(100) }
                let line = Array(AuditRecord.seal(seq: receipt.seq + 1, time: .now(), event: events[0], tenant: nil,
                                                  prev: String(repeating: "b", count: 64)).1)
                let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
                _ = line.withUnsafeBytes { write(fd, $0.baseAddress, 1 + Int(rng.next() % UInt64(line.count - 2))) }
                while true { pause() }
            }
            if rng.next() % 4 == 0 { usleep(useconds_t(rng.next() % 300)) }
        }
    }
}

@Suite struct CrashTests {
    /// ≥50 SIGKILLs of a real writer process at seeded random points (mid-append, mid-commit,
    /// mid-rotation, mid-recovery). After each, the rotated set verifies against the head file up to
    /// the last complete record. Every third round a torn tail is added (what power loss leaves);
    /// the verifier reports it after the last complete record, and the next writer moves it aside
    /// and continues the chain.
    /// The outcome of the kill loop, checked by the test in its own task.
    struct Outcome: Sendable {
        var problems: [String] = []
        var injected = 0
        var killedMidRun = 0
        var verifiedSeq: UInt64 = 0
        var final: AuditVerification?
        var tornFiles = 0
        var recoveredRecords = 0
        /// Rounds whose kill itself tore the record being written.
        var tornByKill = 0
    }

    @Test func writerKilledAtRandomPointsAlwaysLeavesAVerifiableLog() async throws {
        // The loop blocks for ~20 s (spawn, sleep, kill, wait); run it on its own thread so it does
        // not hold one of the few cooperative threads other tests need.
        let outcome: Outcome = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: Self.killLoop(kills: 60)) }
            thread.stackSize = 8 << 20
            thread.start()
        }
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.final?.isOK == true, "\(outcome.final?.summaryLine() ?? "no final verdict")")
        #expect(outcome.tornFiles >= outcome.injected + outcome.tornByKill)
        #expect(outcome.recoveredRecords >= outcome.injected + outcome.tornByKill)
        #expect(outcome.killedMidRun >= 54)
        #expect(outcome.tornByKill > 0, "no writer was killed mid-write")
    }

    static func killLoop(kills: Int) -> Outcome {
        var outcome = Outcome()
        do { try killLoop(kills: kills, into: &outcome) } catch {
            outcome.problems.append("error: \(error)")
        }
        return outcome
    }

    static func killLoop(kills: Int, into outcome: inout Outcome) throws {
        let seed: UInt64 = ProcessInfo.processInfo.environment["CORDON_AUDIT_CRASH_SEED"].flatMap(UInt64.init) ?? 0xC0D0_2026
        var rng = SplitMix64(seed: seed)
        let dir = TempDir("crash")
        defer { dir.cleanup() }
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var verifiedSeq: UInt64 = 0
        var injected = 0
        var killedMidRun = 0
        defer {
            outcome.injected = injected
            outcome.killedMidRun = killedMidRun
            outcome.verifiedSeq = verifiedSeq
        }

        for round in 0..<kills {
            var env = ProcessInfo.processInfo.environment
            env["CORDON_AUDIT_CRASH_WRITER"] = dir.log
            env["CORDON_AUDIT_CRASH_SEED"] = String(rng.next())
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["CordonAuditTests.CrashWriterChild/testWriterProcess"]
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait for the writer to make progress past what we verified, then kill it at a random
            // moment shortly after.
            let deadline = ContinuousClock.now + .seconds(20)
            while ((try? AuditHead.read(path: dir.head))??.seq ?? 0) <= verifiedSeq && p.isRunning
                && ContinuousClock.now < deadline {
                usleep(500)
            }
            if !p.isRunning { outcome.problems.append("writer exited on its own in round \(round) (status \(p.terminationStatus))") }
            usleep(useconds_t(rng.next() % 25_000))
            if p.isRunning { killedMidRun += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()

            let result = AuditVerifier.verify(files: dir.logFiles(), head: dir.head)
            switch result {
            case .ok(let count):
                verifiedSeq = UInt64(count)
            case .failed(let seq, _, let file, .tornTail) where file == dir.log && (seq ?? 0) >= verifiedSeq:
                // SIGKILL can cut a write(2) short at a page boundary: the record being appended was
                // never acknowledged, everything before it verifies, and the next writer moves the
                // torn bytes aside and continues the chain. No injection on top of it this round.
                verifiedSeq = seq ?? 0
                outcome.tornByKill += 1
                continue
            default:
                outcome.problems.append("round \(round): \(result.summaryLine())")
                return
            }

            if round % 3 == 1 {
                // Power-loss style torn tail: a prefix of a real record, or zeros.
                let sample = Array(AuditRecord.seal(seq: verifiedSeq + 1, time: .now(), event: sampleEvents()[2],
                                                    tenant: "acme", prev: String(repeating: "a", count: 64)).1)
                let torn = rng.next() % 2 == 0
                    ? Array(sample.prefix(1 + Int(rng.next() % UInt64(sample.count - 2))))
                    : [UInt8](repeating: 0, count: 1 + Int(rng.next() % 4096))
                let target = FileIO.exists(dir.log) ? dir.log : AuditLog.archives(of: dir.log).last!.path
                writeBytes(target, readBytes(target) + torn)
                injected += 1
                let tornResult = AuditVerifier.verify(files: dir.logFiles(), head: dir.head)
                let expected = AuditVerification.failed(seq: verifiedSeq == 0 ? nil : verifiedSeq,
                                                        line: lines(target).count + 1 - (torn.last == 0x0A ? 1 : 0),
                                                        file: target, reason: .tornTail(bytes: torn.count))
                if target == dir.log && tornResult != expected {
                    outcome.problems.append("round \(round): \(tornResult.summaryLine()), expected \(expected.summaryLine())")
                }
                if target != dir.log {
                    // Torn bytes on an archive (crash right after a rename) cannot come from a
                    // write; undo so the scenario stays realistic.
                    writeBytes(target, Array(readBytes(target).dropLast(torn.count)))
                    injected -= 1
                }
            }
        }
        print("crash test: \(kills) SIGKILLs (seed \(seed)), \(injected) torn tails injected, \(outcome.tornByKill) torn by a kill, \(verifiedSeq) records verified")
        // Final reopen repairs whatever the last kill left and closes cleanly.
        let log = try AuditLog(configuration: .init(path: dir.log))
        try log.close()
        outcome.final = AuditVerifier.verify(files: dir.logFiles(), head: dir.head)
        outcome.tornFiles = (try FileManager.default.contentsOfDirectory(atPath: dir.path)).filter { $0.contains(".torn-") }.count
        let all = dir.logFiles().flatMap(lines).compactMap { try? AuditRecord(line: $0) }
        outcome.recoveredRecords = all.filter { $0.type == .auditRecovered }.count
    }
}
