@testable import Cordon
import CCordonShims
import CordonPolicy
import Foundation
import Glibc
import Testing

/// Read-only regular files donated to the worker (docs/wasi.md): which files the broker donates, and
/// C programs in real confined workers whose reads of them make no host call, with the same output
/// as with donation off.
@Suite(.enabled(if: DonationToolchain.available, "needs clang and wasi-libc"))
struct WASIDonationTests {
    static let differentialSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("WASIDifferential/donated_reads.c")

    static func policy(donate: Bool, hostCallsPerCall: UInt32 = 100_000) -> SandboxPolicy {
        var policy = Fixtures.policy(fuel: 0, memoryPages: 64)
        policy.limits.maxHostCallsPerCall = hostCallsPerCall
        policy.limits.maxHostCallsPerSecond = 1_000_000
        policy.wasi.donateReadOnlyFiles = donate
        return policy
    }

    static func run(_ wasm: [UInt8], donate: Bool, directory: String, hostCallsPerCall: UInt32 = 100_000) async throws -> CommandOutput {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(
            manifest: PluginManifest(name: "donation", capabilities: [.filesystem]), module: wasm,
            policy: policy(donate: donate, hostCallsPerCall: hostCallsPerCall), grant: [.filesystem],
            wasi: WASIConfiguration(arguments: ["donation"], preopens: [WASIPreopen(hostPath: directory, guestPath: "/data")]))
        let output = try await plugin.run()
        await supervisor.shutdown()
        return output
    }

    /// (a, d, e) Chunked reads, seeks back, preads, readv, fd_tell between them, fd_renumber and
    /// fd_close of a donated fd, 24 files open at once (more than the 16-fd donated range: the rest
    /// fall back to brokered reads), and files that are never donated: identical with donation on
    /// and off (scripts/wasi-differential.py compares the same program with wasmtime).
    @Test func readsAreIdenticalWithDonationOnAndOff() async throws {
        let wasm = try DonationToolchain.compile(String(contentsOf: Self.differentialSource, encoding: .utf8))
        var outputs: [String] = []
        for donate in [true, false] {
            let dir = try WASISupervisorTests.directory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let output = try await Self.run(wasm, donate: donate, directory: dir)
            let text = String(decoding: output.stdout, as: UTF8.self)
            #expect(output.exitCode == 0, "donate \(donate): \(text) \(String(decoding: output.stderr, as: UTF8.self))")
            #expect(text.hasSuffix("done\n") && text.contains("readv consistent 1\n"), "donate \(donate): \(text)")
            outputs.append(text)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0].contains("whole 200000 "))
        #expect(outputs[0].contains("old number -1 errno 8\n") && outputs[0].contains("closed -1 errno 8\n"))
    }

    /// 256 reads of a donated file fit a budget of 40 host calls per call, because a donated read is
    /// not a host call; with donation off the same program runs out of host calls (EAGAIN).
    @Test func donatedReadsAreNoHostCalls() async throws {
        let source = """
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <unistd.h>
        static unsigned char buf[4096];
        int main(void) {
            int fd = open("/data/input.bin", O_RDONLY);
            if (fd < 0) { printf("open failed %d\\n", errno); return 2; }
            long total = 0; unsigned h = 0; ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) { for (ssize_t i = 0; i < n; i++) h = h * 31 + buf[i]; total += n; }
            if (n < 0) { printf("read failed %d after %ld\\n", errno, total); return 3; }
            printf("%ld %08x\\n", total, h);
            return 0;
        }
        """
        let wasm = try DonationToolchain.compile(source)
        let dir = try WASISupervisorTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 * 13 + $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/input.bin"))
        var h: UInt32 = 0
        for b in bytes { h = h &* 31 &+ UInt32(b) }
        let expected = "1048576 " + String(h, radix: 16).leftPadded(to: 8) + "\n"

        let donated = try await Self.run(wasm, donate: true, directory: dir, hostCallsPerCall: 40)
        #expect(donated.exitCode == 0)
        #expect(String(decoding: donated.stdout, as: UTF8.self) == expected)
        let brokered = try await Self.run(wasm, donate: false, directory: dir, hostCallsPerCall: 40)
        #expect(brokered.exitCode == 3, "\(String(decoding: brokered.stdout, as: UTF8.self))")
        #expect(String(decoding: brokered.stdout, as: UTF8.self).hasPrefix("read failed 6 "))
        let unlimited = try await Self.run(wasm, donate: false, directory: dir)
        #expect(String(decoding: unlimited.stdout, as: UTF8.self) == expected)
    }

    /// (b) The broker donates a regular file opened for reading only, with the read right, when the
    /// policy allows it; never a file opened for writing, created or truncated, a directory or a FIFO.
    /// The donated fd shares the broker's open file description: a read through it moves `fd_tell`.
    @Test func theBrokerDonatesOnlyReadOnlyRegularFiles() throws {
        var pair: [Int32] = [-1, -1]
        #expect(cordon_seqpacket_pair(&pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let fixture = try BrokerFixture(donationFD: pair[0])
        #expect(mkfifo(fixture.sandbox + "/pipe", 0o600) == 0)
        let read = Int64(bitPattern: WASIRights.fdRead | WASIRights.fdSeek | WASIRights.fdTell)

        let opened = fixture.open("inside.txt", rights: read)
        #expect(opened.status == .success && opened.data.count == 5 && opened.data[4] == 1, "\(opened)")
        let fd = fixture.fd(opened)
        let message = try #require(Self.receive(pair[1]))
        #expect(message.tag == UInt32(fd) && message.fds.count == 1)
        let donated = try #require(message.fds.first)
        defer { close(donated) }
        var byte: UInt8 = 0
        #expect(Glibc.read(donated, &byte, 1) == 1 && byte == UInt8(ascii: "i"))
        #expect(fixture.call("fd_tell", [fd]).data == [1, 0, 0, 0, 0, 0, 0, 0])
        // Only for reading: the duplicate cannot write the file.
        #expect(Glibc.write(donated, "x", 1) == -1 && errno == EBADF)

        let refused: [(String, WASIReply)] = [
            ("read-write", fixture.open("inside.txt", rights: read | Int64(bitPattern: WASIRights.fdWrite))),
            ("truncate", fixture.open("inside.txt", oflags: 8, rights: read | Int64(bitPattern: WASIRights.fdWrite))),
            ("create", fixture.open("new.txt", oflags: 1, rights: read)),
            ("directory", fixture.open("sub", oflags: 2, rights: read)),
            ("fifo", fixture.open("pipe", rights: read)),
            ("no read right", fixture.open("inside.txt", rights: Int64(bitPattern: WASIRights.fdSeek))),
        ]
        for (what, reply) in refused {
            #expect(reply.status == .success && reply.data.count == 5 && reply.data[4] == 0, "\(what): \(reply)")
        }
        #expect(Self.receive(pair[1]) == nil, "a file that must stay brokered was donated")
        // A read-only preopen's files are donated too.
        let kept = fixture.open("kept.txt", at: 4, rights: read)
        #expect(kept.data.count == 5 && kept.data[4] == 1)
        if let m = Self.receive(pair[1]) { m.fds.forEach { close($0) } } else { Issue.record("kept.txt not donated") }

        // The policy key turns it off: the socket stays silent.
        var off = WASIPolicy.standard
        off.donateReadOnlyFiles = false
        let quiet = try BrokerFixture(policy: off, donationFD: pair[0])
        let reply = quiet.open("inside.txt", rights: read)
        #expect(reply.data.count == 5 && reply.data[4] == 0)
        #expect(Self.receive(pair[1]) == nil)
    }

    /// A donation the worker never takes only fills its own socket: the broker never blocks, and
    /// once the queue is full it answers "not donated" and the file stays brokered.
    @Test func aWorkerThatTakesNothingOnlyLosesDonations() throws {
        var pair: [Int32] = [-1, -1]
        #expect(cordon_seqpacket_pair(&pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        var policy = WASIPolicy.standard
        policy.maxOpenFiles = 4096
        let fixture = try BrokerFixture(policy: policy, donationFD: pair[0])
        let read = Int64(bitPattern: WASIRights.fdRead)
        var refusedOnce = false
        for _ in 0..<2000 {
            let reply = fixture.open("inside.txt", rights: read)
            guard reply.status == .success else { Issue.record("\(reply)"); break }
            let fd = fixture.fd(reply)
            if reply.data[4] == 0 { refusedOnce = true; break }
            #expect(fixture.call("fd_close", [fd]).status == .success)
        }
        #expect(refusedOnce, "2000 donations fit the socket's queue")
        var drained = 0
        while let m = Self.receive(pair[1]) { m.fds.forEach { close($0) }; drained += 1 }
        #expect(drained > 0)
    }

    /// One message from the test's end of a donation socket, without waiting.
    static func receive(_ socket: Int32) -> (tag: UInt32, fds: [Int32])? {
        var tag: UInt32 = 0, tagLength: Int32 = 0, count: Int32 = 0, truncated: Int32 = 0
        var fds = [Int32](repeating: -1, count: 8)
        let rc = fds.withUnsafeMutableBufferPointer {
            cordon_recv_fds(socket, &tag, &tagLength, $0.baseAddress, Int32($0.count), &count, &truncated)
        }
        guard rc == 0, tagLength == 4 else { return nil }
        return (tag, Array(fds[0..<Int(count)]))
    }
}

/// wasi-libc C programs compiled with the toolchain's clang.
enum DonationToolchain {
    static let clang = "/opt/swift/usr/bin/clang"
    static let resourceDirectory = "/usr/lib/llvm-14/lib/clang/14.0.6"

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: clang) && FileManager.default.fileExists(atPath: "/usr/lib/wasm32-wasi/libc.a")
    }

    static func compile(_ source: String) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cordon-donation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("p.c"), output = directory.appendingPathComponent("p.wasm")
        try source.write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clang)
        process.arguments = ["--target=wasm32-wasi", "--sysroot=/usr", "-resource-dir", resourceDirectory, "-O2",
                             input.path, "-o", output.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CordonError.invalidModule(stage: "clang", message: "exit \(process.terminationStatus)") }
        return Array(try Data(contentsOf: output))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
