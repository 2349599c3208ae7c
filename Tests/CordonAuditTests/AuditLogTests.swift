import Foundation
import Testing
@testable import CordonAudit
#if canImport(Glibc)
import Glibc
#endif

@Suite struct AuditLogTests {
    @Test func chainVerifiesAndRecordsAreWellFormed() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let n = try makeLog(dir, count: 40)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: n))
        #expect(AuditVerifier.verify(files: [dir.log], head: nil) == .ok(records: n))  // log.close anchors
        let ls = lines(dir.log)
        #expect(ls.count == n)
        let first = try AuditRecord(line: ls[0])
        #expect(first.seq == 1 && first.prev == AuditRecord.genesisHash)
        #expect(first.tenant == "acme" && first.plugin == nil && first.type == .supervisorStart)
        let last = try AuditRecord(line: ls.last!)
        #expect(last.type == .logClose && last.tenant == "default")
        // The line is the canonical form with hash appended.
        for l in ls {
            let r = try AuditRecord(line: l)
            #expect(r.line() == l + [0x0A])
        }
        // File mode 0600.
        var st = stat()
        stat(dir.log, &st)
        #expect(st.st_mode & 0o777 == 0o600)
        let head = try #require(try AuditHead.read(path: dir.head))
        #expect(head.seq == UInt64(n) && head.hash == last.hash)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head).summaryLine() == "ok: \(n) records, chain intact")
    }

    @Test func reopeningContinuesTheChain() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let n1 = try makeLog(dir, count: 5)
        let n2 = try makeLog(dir, count: 7)
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: n1 + n2))
        let log = try AuditLog(configuration: .init(path: dir.log))
        #expect(log.recovery == nil)
        #expect(log.lastSequence == UInt64(n1 + n2))
        try log.close()
    }

    /// Two writers would fork the chain: the second open is refused until the first closes.
    @Test func onlyOneWriterAtATime() throws {
        let dir = TempDir("lock")
        defer { dir.cleanup() }
        let first = try AuditLog(configuration: .init(path: dir.log))
        #expect(throws: AuditError.locked(path: dir.log)) { _ = try AuditLog(configuration: .init(path: dir.log)) }
        try first.close()
        let second = try AuditLog(configuration: .init(path: dir.log))
        try second.close()
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: 2))
    }

    @Test func hostCallSamplingAndReservedTypes() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: .init(path: dir.log, hostCallSampling: .deniedOnly))
        let ok = try log.append(.hostcall(plugin: "p", pid: 1, function: "f", status: .ok, bytes: 1))
        #expect(ok == .sampledOut && !ok.isRecorded)
        let denied = try log.append(.hostcall(plugin: "p", pid: 1, function: "f", status: .denied, bytes: 0))
        #expect(denied.seq == 1)
        #expect(throws: AuditError.reservedType(.logClose)) { try log.append(AuditEvent(type: .logClose)) }
        // Malformed events are refused at the source instead of poisoning verification later.
        #expect(throws: AuditError.invalidEvent(type: .workerKill, field: "data.signal")) {
            try log.append(AuditEvent(type: .workerKill, plugin: "p", worker: 5, data: ["signal": "KILL", "reason": "x"]))
        }
        #expect(throws: AuditError.invalidEvent(type: .pluginUnload, field: "data.extra")) {
            try log.append(AuditEvent(type: .pluginUnload, plugin: "p", data: ["reason": "x", "extra": 1]))
        }
        #expect(throws: AuditError.invalidEvent(type: .pluginLoad, field: "data.module_sha256")) {
            try log.append(.pluginLoad(plugin: "p", manifestName: "m", manifestVersion: "1", moduleSHA256: "nothex",
                                       policyName: "p", policySHA256: String(repeating: "0", count: 64), capabilities: []))
        }
        #expect(throws: AuditError.invalidEvent(type: .workerExit, field: "worker")) {
            try log.append(.workerExit(plugin: "p", pid: 0, classification: "exited", status: 0))
        }
        #expect(log.health == .healthy && log.lastSequence == 1)
        #expect(HostCallSampling.off.records(.denied) == false && HostCallSampling.all.records(.ok))
        try log.close()
        #expect(throws: AuditError.closed) { try log.append(.supervisorStop(reason: "x")) }
    }

    @Test func groupCommitDurableAwait() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: .init(path: dir.log, durability: .groupCommit(maxDelay: .milliseconds(20),
                                                                                               maxBatch: 1000)))
        let receipt = try log.append(.supervisorStart(version: "1", pid: 1))
        #expect(receipt.seq == 1)
        #expect(log.durableSequence == 0)  // written, not yet committed
        let before = ContinuousClock.now
        try await log.waitDurable(receipt)
        #expect(log.durableSequence >= 1)
        // Only a guard against never committing: parallel tests can starve the cooperative pool that resumes us.
        #expect(ContinuousClock.now - before < .seconds(60))
        #expect(try AuditHead.read(path: dir.head)?.seq ?? 0 >= 1)

        // A full batch commits without waiting for maxDelay; many concurrent waiters all return.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await log.appendDurably(.workerRestart(plugin: "p\(i)", attempt: i, backoffMs: 10))
                }
            }
            try await group.waitForAll()
        }
        #expect(log.durableSequence == 51)
        let r = try await log.appendDurably(.supervisorStop(reason: "done"))
        #expect(try AuditHead.read(path: dir.head)?.seq ?? 0 >= r.seq)
        try log.close()
        #expect(AuditVerifier.verify(files: [dir.log], head: dir.head) == .ok(records: 53))
    }

    @Test func recordsStreamFansOutToSubscribers() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: .init(path: dir.log))
        let a = log.records
        let b = log.records
        try log.append(.supervisorStart(version: "1", pid: 1))
        try log.append(.supervisorStop(reason: "bye"))
        try log.close()
        var seqA: [UInt64] = []
        for await r in a { seqA.append(r.seq) }
        var typesB: [AuditEventType] = []
        for await r in b { typesB.append(r.type) }
        #expect(seqA == [1, 2, 3])
        #expect(typesB == [.supervisorStart, .supervisorStop, .logClose])
    }

    @Test func syslogSinkSendsRFC5424() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let socketPath = dir.path + "/log.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(socketPath.utf8) + [0]) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let sink = try SyslogAuditSink(socketPath: socketPath)
        let log = try AuditLog(configuration: .init(path: dir.log, sinks: [sink]))
        try log.append(sampleEvents()[5])  // capability.denied → warning
        try log.close()
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
        #expect(n > 0)
        let msg = String(decoding: buf[0..<max(0, n)], as: UTF8.self)
        #expect(msg.hasPrefix("<108>1 "))  // facility 13 (audit) * 8 + severity 4 (warning)
        let parts = msg.split(separator: " ", maxSplits: 6).map(String.init)
        #expect(parts.count == 7)
        #expect(parts[1].count == "2026-11-25T12:00:00.123456Z".count && parts[1].hasSuffix("Z"))
        #expect(parts[3] == "cordon" && parts[5] == "capability.denied" && parts[6].hasPrefix("- {\"data\":"))
        let line = Array(parts[6].dropFirst(2).utf8)
        #expect(line == lines(dir.log)[0])
        #expect(log.health == .healthy)
    }

    @Test func secondarySinkFailureDegradesButDoesNotFail() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let full = try FileAuditSink(path: "/dev/full")
        let log = try AuditLog(configuration: .init(path: dir.log, sinks: [full]))
        try log.append(.supervisorStart(version: "1", pid: 1))
        guard case .degraded(let count, _) = log.health else {
            Issue.record("expected degraded, got \(log.health)")
            return
        }
        #expect(count >= 1 && !log.shouldRefuseNewLoads)
        try log.close()
    }

    /// A real full filesystem: a 64 KiB tmpfs. The failure is typed, sticky, visible in `health`,
    /// and once space is freed `resume()` records the outage in the chain itself.
    @Test func writeErrorOnFullFilesystemIsTypedAndSticky() throws {
        let dir = TempDir("enospc")
        defer { dir.cleanup() }
        let mnt = dir.path + "/mnt"
        mkdir(mnt, 0o700)
        let (status, out) = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt])
        guard status == 0 else {
            Issue.record("cannot mount tmpfs (\(out)); need root")
            return
        }
        defer { _ = try? run("/bin/umount", [mnt]) }
        let path = mnt + "/audit.log"
        // Group commit with a long delay: no head-file rewrites during the loop, so the first
        // failure is the log write itself.
        let log = try AuditLog(configuration: .init(path: path, durability: .groupCommit(maxDelay: .seconds(60),
                                                                                          maxBatch: 1 << 30),
                                                    rotation: .never))
        for i in 0..<5 { try log.append(.workerRestart(plugin: "p", attempt: i, backoffMs: 1)) }
        let filler = mnt + "/filler"
        _ = try run("/bin/sh", ["-c", "dd if=/dev/zero of=\(filler) bs=4096 count=64 2>/dev/null; true"])
        var failure: AuditError?
        var written: UInt64 = 0
        for i in 0..<10_000 {
            do {
                written = try log.append(.workerRestart(plugin: "p", attempt: i, backoffMs: 1)).seq
            } catch {
                failure = error
                break
            }
        }
        #expect(failure == .write(.noSpace))
        #expect(log.health == .failed(.write(.noSpace)))
        #expect(log.shouldRefuseNewLoads)
        #expect(throws: AuditError.write(.noSpace)) { try log.append(.supervisorStop(reason: "x")) }
        // No partial line was left behind, and the chain up to the failure verifies.
        #expect(AuditVerifier.verify(files: [path], head: nil, requireAnchor: false) == .ok(records: Int(written)))
        unlink(filler)
        try log.resume()
        #expect(log.health == .healthy)
        try log.close()
        #expect(AuditVerifier.verify(files: [path], head: path + ".head") == .ok(records: Int(written) + 2))
        let tail = lines(path).suffix(2).compactMap { try? AuditRecord(line: $0) }
        #expect(tail.first?.type == .auditError && tail.first?.data["errno"] == .int(Int64(ENOSPC)))
    }
}
