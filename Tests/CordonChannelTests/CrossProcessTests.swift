// End-to-end tests with a real CordonTestPeer process on the other side of the mapping: round trips
// across many wrap-arounds, backpressure, peer death, silence, close, the epoll hook and a hostile peer.
import CCordonShims
import Testing
@testable import CordonChannel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Serialized: each test runs spinning peer processes, and the machine has few cores.
@Suite(.serialized) struct CrossProcessTests {
    @Test func echoRoundTripsEverySizeAcrossWrapArounds() throws {
        let configuration = ChannelConfiguration(ringCapacity: 64 * 1024, maxMessageSize: 32 * 1024, spinIterations: 200)
        let host = try SharedMemoryBuffer.create(configuration: configuration)
        let peer = try PeerProcess.spawn(["echo-raw"], channel: host)
        var rng = SplitMix64(seed: 42)
        // Every size from 0 to 300, the sizes around the maximum, then random sizes; up to 6 in flight.
        let limit = configuration.maxMessageSize
        let sizes = Array(0...300) + Array((limit - 16)...limit) + (0..<2500).map { _ in rng.below(limit + 1) }
        var inFlight: [[UInt8]] = []
        var inFlightBytes: UInt64 = 0
        var received = 0
        var bytes = 0
        for size in sizes {
            let frame = rng.bytes(min(size, 64)) + [UInt8](repeating: UInt8(truncatingIfNeeded: size), count: max(0, size - 64))
            // Keep what is in flight within one ring: the echoes must fit the reply ring, or both sides
            // would block sending to each other.
            while !inFlight.isEmpty,
                  inFlightBytes + RingRecord.size(frameLength: frame.count) > UInt64(configuration.ringCapacity) {
                let expected = inFlight.removeFirst()
                inFlightBytes -= RingRecord.size(frameLength: expected.count)
                #expect(try host.receiveRaw(timeout: .seconds(10)) == expected)
                received += 1
            }
            try host.sendRaw(frame, timeout: .seconds(10))
            inFlight.append(frame)
            inFlightBytes += RingRecord.size(frameLength: frame.count)
            bytes += frame.count
        }
        while !inFlight.isEmpty {
            #expect(try host.receiveRaw(timeout: .seconds(10)) == inFlight.removeFirst())
            received += 1
        }
        #expect(received == sizes.count)
        #expect(bytes / configuration.ringCapacity > 100)  // well over a hundred wrap-arounds each way
        host.close()
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }

    @Test func echoDecodedMessagesInOrder() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 16 * 1024, spinIterations: 200))
        let peer = try PeerProcess.spawn(["echo"], channel: host)
        var rng = SplitMix64(seed: 5)
        var expected: [ChannelMessage] = []
        for i in 0..<3000 {
            let message = RandomMessages.message(kind: FrameKind.allCases[i % FrameKind.allCases.count], &rng)
            try host.send(message, timeout: .seconds(10))
            expected.append(message)
            if expected.count == 4 { #expect(try host.receive(timeout: .seconds(10)) == expected.removeFirst()) }
        }
        for message in expected { #expect(try host.receive(timeout: .seconds(10)) == message) }
        host.close()
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }

    /// With no spinning on either side every message goes through the sleep/wake path. A lost wake-up
    /// would cost a whole 50 ms sleep slice, so round trips that slow must stay rare (scheduling noise only).
    @Test func noLostWakeUpsWithoutSpinning() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 8192, spinIterations: 0))
        let peer = try PeerProcess.spawn(["echo", "0"], channel: host)
        var slow = 0
        let trips = 2000
        for i in 0..<trips {
            let start = nowMilliseconds()
            try host.send(.heartbeat(UInt64(i)), timeout: .seconds(5))
            #expect(try host.receive(timeout: .seconds(5)) == .heartbeat(UInt64(i)))
            if nowMilliseconds() - start > 40 { slow += 1 }
        }
        #expect(slow <= trips / 50, "\(slow) of \(trips) round trips took > 40 ms")
        host.close()
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }

    @Test func peerThatStopsReadingFillsTheRing() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 8192, maxMessageSize: 4000))
        let peer = try PeerProcess.spawn(["stall"], channel: host)
        defer { peer.kill(); peer.wait() }
        let frame = [UInt8](repeating: 7, count: 2000)
        try host.trySendRaw(frame)
        try host.trySendRaw(frame)
        try host.trySendRaw(frame)
        try host.trySendRaw(frame)  // 4 × 2008 = 8032 of 8192
        #expect(throws: ChannelError.full) { try host.trySendRaw(frame) }
        #expect(throws: ChannelError.timedOut) { try host.sendRaw(frame, timeout: .milliseconds(50)) }
        #expect(throws: ChannelError.messageTooLarge(size: 4001, limit: 4000)) {
            try host.sendRaw([UInt8](repeating: 0, count: 4001), timeout: nil)
        }
    }

    @Test func silentPeerTimesOut() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 4096))
        let peer = try PeerProcess.spawn(["silent"], channel: host)
        defer { peer.kill(); peer.wait() }
        try host.send(.heartbeat(1), timeout: .seconds(1))
        let start = nowMilliseconds()
        #expect(throws: ChannelError.timedOut) { try host.receive(timeout: .milliseconds(200)) }
        let elapsed = nowMilliseconds() - start
        #expect(elapsed >= 195 && elapsed < 5000, "a 200 ms timeout took \(elapsed) ms")
    }

    /// The peer SIGKILLs itself 150 ms into the host's unbounded wait (a thread of this process would be a
    /// cooperative-pool task here, which a loaded machine may not run in time): the pidfd ends the wait.
    @Test func peerKilledMidWaitIsReportedPromptly() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 4096))
        let peer = try PeerProcess.spawn(["sigkill-after", "150"], channel: host)
        let start = nowMilliseconds()
        #expect(throws: ChannelError.peerDied) { try host.receive(timeout: nil) }
        let elapsed = nowMilliseconds() - start
        #expect(elapsed >= 100 && elapsed < 5000, "an unbounded wait ended \(elapsed) ms after it began")
        try host.send(.heartbeat(1), timeout: .seconds(1))  // the ring has room: sending needs no peer
        #expect(throws: ChannelError.peerDied) { try host.receive(timeout: .seconds(5)) }
        let status = peer.wait()
        #expect(status & 0x7f == SIGKILL)
    }

    @Test func workerNoticesItsParentDied() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 4096))
        var pipeFDs: [CInt] = [-1, -1]
        #expect(pipe(&pipeFDs) == 0)
        let middle = try PeerProcess.spawn(["orphan-silent"],
                                           fds: [0, 1, 2, host.memfd, host.doorbellFD, pipeFDs[1]])
        close(pipeFDs[1])
        var grandchild: Int32 = 0
        #expect(read(pipeFDs[0], &grandchild, 4) == 4)
        close(pipeFDs[0])
        // Hold a pidfd on the grandchild before its parent exits, so its exit is observable.
        let pidfd = cordon_pidfd_open(grandchild, 0)
        #expect(pidfd >= 0)
        #expect(PeerProcess.exitedCleanly(middle.wait()))
        let start = nowMilliseconds()
        var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        // The grandchild's futex slices are 50 ms: it must notice the new parent well within 2 s.
        #expect(poll(&fds, 1, 2000) == 1)
        #expect(nowMilliseconds() - start < 2000)
        if fds[0].revents == 0 { _ = kill(grandchild, SIGKILL) }
        close(pidfd)
    }

    @Test func floodIsDeliveredInOrderThenClosed() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 16 * 1024, spinIterations: 100))
        let count = 20_000
        let peer = try PeerProcess.spawn(["flood", String(count), "200"], channel: host)
        for i in 0..<count {
            let frame = try host.receiveRaw(timeout: .seconds(10))
            #expect(frame.count == 200)
            let sequence = frame.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            if sequence != UInt64(i) {
                Issue.record("message \(i) carried sequence \(sequence)")
                break
            }
        }
        #expect(throws: ChannelError.closed) { try host.receive(timeout: .seconds(5)) }
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }

    @Test func workerSeesHostClose() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 4096))
        let peer = try PeerProcess.spawn(["echo"], channel: host)
        try host.send(.heartbeat(3), timeout: .seconds(5))
        #expect(try host.receive(timeout: .seconds(5)) == .heartbeat(3))
        usleep(100_000)  // let the peer go to sleep on the futex
        host.close()
        #expect(PeerProcess.exitedCleanly(peer.wait()))
        #expect(throws: ChannelError.closed) { try host.send(.shutdown, timeout: nil) }
    }

    @Test func epollStyleLoopWithPrepareToSleep() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 8192, spinIterations: 0))
        let peer = try PeerProcess.spawn(["echo"], channel: host)
        for i in 0..<200 {
            try host.send(.heartbeat(UInt64(i)), timeout: .seconds(5))
            var reply: ChannelMessage? = nil
            let deadline = nowMilliseconds() + 5000
            while reply == nil, nowMilliseconds() < deadline {
                reply = try host.tryReceive()
                if reply == nil, host.prepareToSleep() {
                    var fds = [pollfd(fd: host.doorbellFD, events: Int16(POLLIN), revents: 0)]
                    _ = poll(&fds, 1, 1000)
                }
            }
            #expect(reply == .heartbeat(UInt64(i)))
        }
        host.close()
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }

    /// A real hostile process scribbles the whole mapping while the host keeps reading and sending.
    @Test(arguments: [UInt64(1), 2, 3])
    func hostilePeerProcess(seed: UInt64) throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 8192, spinIterations: 50))
        let peer = try PeerProcess.spawn(["hostile", String(seed), "20000"], channel: host)
        var errors = 0, operations = 0
        let deadline = nowMilliseconds() + 15_000
        var exited = false
        while !exited, nowMilliseconds() < deadline {
            do {
                if operations & 1 == 0 { try host.trySend(.heartbeat(0)) }
                _ = try host.receive(timeout: .milliseconds(2))
            } catch {
                // Typed by construction; `.corrupt` is the expected verdict on this peer.
                errors += 1
            }
            operations += 1
            var fds = [pollfd(fd: peer.pidfd, events: Int16(POLLIN), revents: 0)]
            exited = poll(&fds, 1, 0) == 1
        }
        #expect(exited)
        #expect(errors > 0 && operations > 100)
        #expect(PeerProcess.exitedCleanly(peer.wait()))
    }
}
