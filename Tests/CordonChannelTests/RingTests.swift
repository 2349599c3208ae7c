// In-process tests of the ring and the mapping: configuration checks, wrap-around with both ends in
// this process (non-blocking calls only), and the hostile-mapping fuzzer that scribbles the shared
// memory directly between host reads.
import CCordonShims
import Testing
@testable import CordonChannel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A host channel plus a worker view of the same memfd in this process.
private func pair(_ configuration: ChannelConfiguration) throws -> (host: SharedMemoryBuffer, worker: SharedMemoryBuffer) {
    let host = try SharedMemoryBuffer.create(configuration: configuration)
    let worker = try SharedMemoryBuffer.attach(memfd: dup(host.memfd), doorbell: dup(host.doorbellFD))
    return (host, worker)
}

/// trySendRaw that answers false on `.full` and rethrows anything else.
private func sendUnlessFull(_ channel: SharedMemoryBuffer, _ frame: [UInt8]) throws(ChannelError) -> Bool {
    do throws(ChannelError) {
        try channel.trySendRaw(frame)
        return true
    } catch {
        if error == .full { return false }
        throw error
    }
}

@Suite struct RingTests {
    @Test func rejectsBadConfigurations() {
        #expect(throws: ChannelError.invalidConfiguration(.capacityNotPowerOfTwo(5000))) {
            try ChannelConfiguration(ringCapacity: 5000).validate()
        }
        #expect(throws: ChannelError.invalidConfiguration(.capacityOutOfRange(2048, minimum: 4096, maximum: 1 << 30))) {
            try ChannelConfiguration(ringCapacity: 2048).validate()
        }
        #expect(throws: ChannelError.invalidConfiguration(.maxMessageSizeOutOfRange(4096, minimum: 12, maximum: 4092))) {
            try ChannelConfiguration(ringCapacity: 4096, maxMessageSize: 4096).validate()
        }
        #expect(throws: ChannelError.invalidConfiguration(.negativeSpinIterations(-1))) {
            try ChannelConfiguration(spinIterations: -1).validate()
        }
        #expect(throws: ChannelError.self) { try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 3 << 12)) }
        let defaults = ChannelConfiguration()
        #expect(defaults.ringCapacity == 512 * 1024 && defaults.maxMessageSize == 256 * 1024)
    }

    @Test func mappingIsSealedAgainstShrinking() throws {
        let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: 4096))
        #expect(ftruncate(host.memfd, 100) != 0)
    }

    @Test func workerAttachReadsGeometry() throws {
        let (host, worker) = try pair(.init(ringCapacity: 8192, maxMessageSize: 1000))
        #expect(worker.configuration.ringCapacity == 8192 && worker.configuration.maxMessageSize == 1000)
        #expect(worker.role == .worker && host.role == .host)
    }

    @Test func attachRejectsForeignMemfd() throws {
        let fd = cordon_memfd_create("not-cordon", 1)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 4096 + 2 * 4096) == 0)
        let bell = dup(0)
        #expect(throws: ChannelError.corrupt(.mappingMagic(0))) {
            try SharedMemoryBuffer.attach(memfd: fd, doorbell: bell)
        }
        close(fd)
        close(bell)
    }

    @Test func wrapAroundBothDirectionsEverySize() throws {
        let configuration = ChannelConfiguration(ringCapacity: 4096, maxMessageSize: 4092)
        let (host, worker) = try pair(configuration)
        var rng = SplitMix64(seed: 3)
        var sent = 0
        // Sizes 0...max, plus random ones, pipelined up to the ring's fill: many wrap-arounds.
        let sizes = Array(0...64) + [4091, 4092, 4085, 4086, 4087, 4088] + (0..<3000).map { _ in rng.below(4093) }
        var pendingToWorker: [[UInt8]] = []
        var pendingToHost: [[UInt8]] = []
        for size in sizes {
            let frame = rng.bytes(size)
            while try !sendUnlessFull(host, frame) {
                let got = try #require(try worker.tryReceiveRaw())
                #expect(got == pendingToWorker.removeFirst())
                try worker.trySendRaw(got)
                pendingToHost.append(got)
                #expect(try host.tryReceiveRaw() == pendingToHost.removeFirst())
            }
            pendingToWorker.append(frame)
            sent += 1
        }
        while let got = try worker.tryReceiveRaw() { #expect(got == pendingToWorker.removeFirst()) }
        #expect(pendingToWorker.isEmpty && sent == sizes.count)
        #expect(try host.tryReceiveRaw() == nil)
    }

    @Test func fullRingAndOversizeAndTimeout() throws {
        let (host, _) = try pair(.init(ringCapacity: 4096, maxMessageSize: 1000, spinIterations: 10))
        let frame = [UInt8](repeating: 1, count: 1000)
        var accepted = 0
        while try sendUnlessFull(host, frame) { accepted += 1 }
        #expect(accepted == 4096 / 1008)
        #expect(throws: ChannelError.full) { try host.trySendRaw(frame) }
        #expect(throws: ChannelError.messageTooLarge(size: 1001, limit: 1000)) {
            try host.trySendRaw([UInt8](repeating: 0, count: 1001))
        }
        #expect(throws: ChannelError.messageTooLarge(size: 1001, limit: 1000)) {
            try host.sendRaw([UInt8](repeating: 0, count: 1001), timeout: nil)
        }
        let start = nowMilliseconds()
        #expect(throws: ChannelError.timedOut) { try host.sendRaw(frame, timeout: .milliseconds(30)) }
        #expect(throws: ChannelError.timedOut) { try host.receiveRaw(timeout: .milliseconds(30)) }
        let elapsed = nowMilliseconds() - start
        #expect(elapsed >= 55 && elapsed < 5000, "two 30 ms timeouts took \(elapsed) ms")
    }

    /// The producer reads the consumer's head only when the head it last validated leaves too little
    /// room. A head the consumer lies about (past the tail, or going back) is caught then, before a
    /// record is written, and the records not yet consumed arrive intact.
    @Test func aLyingConsumerHeadIsCaughtBeforeAnyRecordIsOverwritten() throws {
        let (host, worker) = try pair(.init(ringCapacity: 4096, maxMessageSize: 1000, spinIterations: 0))
        let size = MappingLayout.mappingSize(capacity: 4096)
        let raw = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, host.memfd, 0))
        defer { munmap(raw, size) }
        let frames = (1...5).map { [UInt8](repeating: $0, count: 1000) }
        for frame in frames.prefix(4) { try host.trySendRaw(frame) }
        #expect(throws: ChannelError.full) { try host.trySendRaw(frames[4]) }
        #expect(try worker.tryReceiveRaw() == frames[0])
        // The room the worker freed is known only from its head, which is read now: the fifth fits.
        try host.trySendRaw(frames[4])
        for lie: UInt64 in [6 * 1008, 0] {
            raw.storeBytes(of: lie, toByteOffset: MappingLayout.h2wHeadOffset, as: UInt64.self)
            #expect(throws: ChannelError.corrupt(.counterOutOfRange(.peerHead, value: lie, low: 1008, high: 5 * 1008))) {
                try host.trySendRaw(frames[0])
            }
        }
        for frame in frames.dropFirst() { #expect(try worker.tryReceiveRaw() == frame) }
    }

    @Test func closeIsSeenByBothSides() throws {
        let (host, worker) = try pair(.init(ringCapacity: 4096))
        try worker.trySend(.heartbeat(1))
        worker.close()
        // Messages sent before the close are still delivered, then `.closed`.
        #expect(try host.tryReceive() == .heartbeat(1))
        #expect(throws: ChannelError.closed) { try host.tryReceive() }
        #expect(throws: ChannelError.closed) { try host.trySend(.shutdown) }
        #expect(throws: ChannelError.closed) { try worker.receive(timeout: nil) }
        #expect(host.prepareToSleep() == false)
    }

    @Test func aHostThatStopsWaitingIsNotRungAndPollsInstead() throws {
        let (host, worker) = try pair(.init(ringCapacity: 4096))
        var fds = [pollfd(fd: host.doorbellFD, events: Int16(POLLIN), revents: 0)]
        #expect(host.prepareToSleep() == true)
        host.stopWaiting()
        #expect(host.hasInput == false)
        // Not waiting: the worker publishes without a doorbell write, and polling sees it.
        try worker.trySend(.heartbeat(1))
        #expect(poll(&fds, 1, 0) == 0)
        #expect(host.hasInput == true)
        #expect(try host.tryReceive() == .heartbeat(1))
        #expect(host.hasInput == false)
        // Armed again without draining: the next message rings.
        #expect(host.prepareToSleep(drainingDoorbell: false) == true)
        try worker.trySend(.heartbeat(2))
        #expect(poll(&fds, 1, 0) == 1)
        // A message published while not waiting is found by the arming itself.
        #expect(try host.tryReceive() == .heartbeat(2))
        host.stopWaiting()
        try worker.trySend(.heartbeat(3))
        #expect(host.prepareToSleep(drainingDoorbell: false) == false)
        #expect(try host.tryReceive() == .heartbeat(3))
        // A close is input too.
        worker.close()
        #expect(host.hasInput == true)
    }

    @Test func prepareToSleepReportsPendingData() throws {
        let (host, worker) = try pair(.init(ringCapacity: 4096))
        #expect(host.prepareToSleep() == true)
        try worker.trySend(.heartbeat(9))
        // The worker saw the host's waiting flag and rang the doorbell.
        var fds = [pollfd(fd: host.doorbellFD, events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 1, 0) == 1)
        #expect(host.prepareToSleep() == false)
        #expect(try host.tryReceive() == .heartbeat(9))
        #expect(host.prepareToSleep() == true)
        #expect(poll(&fds, 1, 0) == 0)
    }

    /// ≥100,000 seeded cases: a simulated worker appends records (valid, corrupted, garbage, lying about
    /// their length) and scribbles random values straight into the mapping — including the host's own
    /// counters and the header — between host operations. The host must never crash, over-read or
    /// allocate what the peer claims; it reports typed errors. A fresh channel every 40 steps keeps most
    /// cases close to a consistent state, so the decoder and the wrap-around paths are reached too.
    @Test func hostileMappingFuzz() throws {
        let capacity = 4096
        let size = MappingLayout.mappingSize(capacity: capacity)
        let w2h = MappingLayout.w2hDataOffset(capacity: capacity)
        var rng = SplitMix64(seed: 0x5EED)
        var outcomes: [String: Int] = [:]
        var cases = 0
        for _ in 0..<2_500 {
            let host = try SharedMemoryBuffer.create(configuration: .init(ringCapacity: capacity, maxMessageSize: 2048,
                                                                          spinIterations: 0))
            let raw = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, host.memfd, 0))
            defer { munmap(raw, size) }
            var tail: UInt64 = 0  // the simulated worker's producer position
            for _ in 0..<40 {
                cases += 1
                let roll = rng.below(100)
                if roll < 55 {
                    // Append a record: a valid message, a corrupted one, or garbage; its length may lie.
                    var frame = FrameCodec.encode(RandomMessages.message(
                        kind: FrameKind.allCases[rng.below(FrameKind.allCases.count)], &rng))
                    if rng.below(4) == 0, !frame.isEmpty { frame[rng.below(frame.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    if rng.below(10) == 0 { frame = rng.bytes(rng.below(64)) }
                    let length: UInt32 = switch rng.below(12) {
                    case 0: UInt32(truncatingIfNeeded: rng.next())
                    case 1: UInt32(rng.below(capacity + 64))
                    default: UInt32(frame.count)
                    }
                    // Byte by byte with wrap: a hostile `tail` may be unaligned, and a 4-byte store at the
                    // last bytes of the ring would run past the end of this test's own mapping.
                    withUnsafeBytes(of: length) { prefix in
                        for (i, b) in prefix.enumerated() {
                            raw.storeBytes(of: b, toByteOffset: w2h + Int((tail &+ UInt64(i)) & UInt64(capacity - 1)),
                                           as: UInt8.self)
                        }
                    }
                    for (i, b) in frame.enumerated() {
                        raw.storeBytes(of: b, toByteOffset: w2h + Int((tail &+ 4 &+ UInt64(i)) & UInt64(capacity - 1)),
                                       as: UInt8.self)
                    }
                    tail = switch rng.below(12) {
                    case 0: rng.next()
                    case 1: tail &+ UInt64(rng.below(2 * capacity))
                    default: tail &+ RingRecord.size(frameLength: frame.count)
                    }
                    raw.storeBytes(of: tail, toByteOffset: MappingLayout.w2hTailOffset, as: UInt64.self)
                } else if roll < 65 {
                    // Any counter, including those only the host writes.
                    let offsets = [MappingLayout.h2wTailOffset, MappingLayout.h2wHeadOffset,
                                   MappingLayout.w2hTailOffset, MappingLayout.w2hHeadOffset]
                    raw.storeBytes(of: rng.next() >> UInt64(rng.below(64)), toByteOffset: offsets[rng.below(4)],
                                   as: UInt64.self)
                } else if roll < 72 {
                    // Any header word: geometry, wake words, closed flags.
                    raw.storeBytes(of: UInt32(truncatingIfNeeded: rng.next() >> UInt64(rng.below(32))),
                                   toByteOffset: rng.below(1024) * 4, as: UInt32.self)
                } else if roll < 82 {
                    // Garbage anywhere in the ring, including records already published.
                    for _ in 0..<rng.below(32) {
                        raw.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()),
                                       toByteOffset: w2h + rng.below(capacity), as: UInt8.self)
                    }
                } else if roll < 88 {
                    // The consumer position of the host's outgoing ring, near its tail.
                    let hostTail = raw.load(fromByteOffset: MappingLayout.h2wTailOffset, as: UInt64.self)
                    raw.storeBytes(of: hostTail &- UInt64(8 * rng.below(600)) &+ UInt64(rng.below(3)) * 8,
                                   toByteOffset: MappingLayout.h2wHeadOffset, as: UInt64.self)
                }
                // The host side under attack: every entry point that reads peer-controlled memory.
                let outcome: String
                do {
                    switch rng.below(6) {
                    case 0, 1: outcome = try host.tryReceive() == nil ? "empty" : "message"
                    case 2: outcome = try host.tryReceiveRaw() == nil ? "empty" : "frame"
                    case 3: try host.trySend(.heartbeat(1)); outcome = "sent"
                    case 4: _ = try host.receive(timeout: .zero); outcome = "message"
                    default: outcome = host.prepareToSleep() ? "sleep" : "wake"
                    }
                } catch {
                    // Typed: `error` is a ChannelError by construction; record which kind.
                    switch error {
                    case .corrupt(let reason):
                        // The enum case name (Mirror labels the payload of a case with associated values).
                        outcome = "corrupt." + (Mirror(reflecting: reason).children.first?.label ?? "\(reason)")
                    default: outcome = "\(error)"
                    }
                }
                outcomes[outcome, default: 0] += 1
            }
        }
        #expect(cases >= 100_000)
        // The run must have reached both the decoder's rejections and successful deliveries.
        #expect(outcomes.filter { $0.key.hasPrefix("corrupt") }.values.reduce(0, +) > 1_000)
        #expect(outcomes.filter { $0.key.hasPrefix("corrupt") }.count >= 5)
        #expect(outcomes["message", default: 0] + outcomes["frame", default: 0] > 1_000)
    }
}
