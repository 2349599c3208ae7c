// The channel between the supervisor (host) and one worker: ONE memfd-backed MAP_SHARED mapping holding
// a header page and two SPSC byte rings, plus an eventfd doorbell for waking the host.
// Layout and protocol: docs/protocol.md. The worker side is hostile: see ByteRing.swift for how the
// host validates everything the worker controls.
import CCordonShims
import Synchronization  // Atomic only (lock-free, no syscalls); locks are FutexLock, see FutexLock.swift

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One worker's shared-memory channel: send and receive frames in both directions.
///
/// At most one thread sends and at most one thread receives at a time is the fast path; concurrent
/// senders (or receivers) are serialised by a lock.
public final class SharedMemoryBuffer: @unchecked Sendable {
    /// Which end of the channel this process is.
    public enum Role: Sendable, Hashable { case host, worker }

    /// Length of one worker futex sleep; a worker re-checks closed/parent death at least this often.
    static let workerSleepSliceNanoseconds: UInt64 = 50_000_000
    /// The adaptive spin budget never drops below this (unless configured lower), so it can grow back.
    static let minimumSpinBudget = 32
    /// One wait in this many spins the full configured budget (see `waitCounter`).
    static let spinProbeInterval = 64
    /// Length of one host poll; bounds the cost of a wake-up lost to a concurrent doorbell drain.
    static let hostSleepSliceNanoseconds: UInt64 = 50_000_000

    /// This end's role.
    public let role: Role
    /// Sizes in force (on the worker: as read from the header at attach).
    public let configuration: ChannelConfiguration
    /// The memfd backing the mapping (the host passes it to the worker as fd 3).
    public let memfd: CInt
    /// The doorbell eventfd (the host polls it; the worker writes it; passed as fd 4).
    public var doorbellFD: CInt { doorbell.fd }

    private let doorbell: Doorbell
    private let base: UnsafeMutableRawPointer
    private let mappingSize: Int
    private let txLock = FutexLock()
    private var txRing: RingProducer
    private let rxLock = FutexLock()
    private var rxRing: RingConsumer
    private let locallyClosed = Atomic<Bool>(false)
    /// Current spin budget (adaptive, ≤ configuration.spinIterations): spinning only pays while the peer is
    /// running on another core; when waits keep ending in sleep (an overloaded machine) it halves, so we
    /// stop burning the CPU the peer needs, and it doubles back when spinning succeeds again.
    private let spinBudget: Atomic<Int>
    /// Counts waits; every `spinProbeInterval`-th wait spins the full budget, so a budget that collapsed
    /// while the machine was busy grows back once full spins succeed again (without probes, two sleeping
    /// sides would keep answering too slowly for a short spin, and never recover).
    private let waitCounter = Atomic<Int>(0)
    private let peerPIDFD = Atomic<Int32>(-1)
    /// The parent pid seen at attach (worker only): any change means the supervisor died.
    private let parentAtAttach: pid_t

    // Wake-up and closed words in the mapping.
    private let hostWaiting: UnsafeMutablePointer<UInt32>
    private let workerWaiting: UnsafeMutablePointer<UInt32>
    private let workerWake: UnsafeMutablePointer<UInt32>
    private let ownClosed: UnsafeMutablePointer<UInt32>
    private let peerClosed: UnsafeMutablePointer<UInt32>

    private init(role: Role, configuration: ChannelConfiguration, memfd: CInt, doorbell: Doorbell,
                 base: UnsafeMutableRawPointer, mappingSize: Int) {
        self.role = role
        self.configuration = configuration
        self.memfd = memfd
        self.doorbell = doorbell
        self.base = base
        self.mappingSize = mappingSize
        parentAtAttach = role == .worker ? getppid() : 0
        spinBudget = Atomic(configuration.spinIterations)
        let capacity = configuration.ringCapacity
        func u64(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
            (base + offset).assumingMemoryBound(to: UInt64.self)
        }
        func u32(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
            (base + offset).assumingMemoryBound(to: UInt32.self)
        }
        let h2w = base + MappingLayout.h2wDataOffset(capacity: capacity)
        let w2h = base + MappingLayout.w2hDataOffset(capacity: capacity)
        switch role {
        case .host:
            txRing = RingProducer(data: h2w, capacity: capacity, tailWord: u64(MappingLayout.h2wTailOffset),
                                  headWord: u64(MappingLayout.h2wHeadOffset))
            rxRing = RingConsumer(data: w2h, capacity: capacity, headWord: u64(MappingLayout.w2hHeadOffset),
                                  tailWord: u64(MappingLayout.w2hTailOffset))
            ownClosed = u32(MappingLayout.hostClosedOffset)
            peerClosed = u32(MappingLayout.workerClosedOffset)
        case .worker:
            txRing = RingProducer(data: w2h, capacity: capacity, tailWord: u64(MappingLayout.w2hTailOffset),
                                  headWord: u64(MappingLayout.w2hHeadOffset))
            rxRing = RingConsumer(data: h2w, capacity: capacity, headWord: u64(MappingLayout.h2wHeadOffset),
                                  tailWord: u64(MappingLayout.h2wTailOffset))
            ownClosed = u32(MappingLayout.workerClosedOffset)
            peerClosed = u32(MappingLayout.hostClosedOffset)
        }
        hostWaiting = u32(MappingLayout.hostWaitingOffset)
        workerWaiting = u32(MappingLayout.workerWaitingOffset)
        workerWake = u32(MappingLayout.workerWakeOffset)
    }

    deinit {
        munmap(base, mappingSize)
        Glibc.close(memfd)
        Glibc.close(doorbell.fd)
        let pidfd = peerPIDFD.load(ordering: .relaxed)
        if pidfd >= 0 { Glibc.close(pidfd) }
    }

    // MARK: - Creation

    /// Supervisor side: creates the sealed memfd, maps it, writes the header and creates the doorbell.
    public static func create(configuration: ChannelConfiguration = .init()) throws(ChannelError) -> SharedMemoryBuffer {
        try configuration.validate()
        let size = MappingLayout.mappingSize(capacity: configuration.ringCapacity)
        // MFD_CLOEXEC (1) | MFD_ALLOW_SEALING (2): the spawner places the fd explicitly in the child.
        let fd = cordon_memfd_create("cordon-channel", 1 | 2)
        guard fd >= 0 else { throw .system(operation: "memfd_create", errno: errno) }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw .system(operation: "ftruncate", errno: e)
        }
        // Seal the size: a worker holding the fd could otherwise shrink it and SIGBUS the host.
        guard cordon_memfd_seal_size(fd) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw .system(operation: "fcntl(F_ADD_SEALS)", errno: e)
        }
        let base: UnsafeMutableRawPointer
        do throws(ChannelError) {
            base = try map(fd: fd, size: size)
        } catch {
            Glibc.close(fd)
            throw error
        }
        let doorbell: Doorbell
        do throws(ChannelError) {
            doorbell = try Doorbell.create()
        } catch {
            munmap(base, size)
            Glibc.close(fd)
            throw error
        }
        // A fresh memfd is zero-filled: counters, flags and rings start at 0. Publish the geometry last.
        base.storeBytes(of: UInt64(configuration.ringCapacity).littleEndian, toByteOffset: MappingLayout.capacityOffset,
                        as: UInt64.self)
        base.storeBytes(of: UInt64(configuration.maxMessageSize).littleEndian,
                        toByteOffset: MappingLayout.maxMessageOffset, as: UInt64.self)
        base.storeBytes(of: MappingLayout.version.littleEndian, toByteOffset: MappingLayout.versionOffset, as: UInt32.self)
        cordon_store_release_u32((base + MappingLayout.magicOffset).assumingMemoryBound(to: UInt32.self),
                                 MappingLayout.magic.littleEndian)
        return SharedMemoryBuffer(role: .host, configuration: configuration, memfd: fd, doorbell: doorbell,
                                  base: base, mappingSize: size)
    }

    /// Worker side: maps the inherited memfd (fd 3) and doorbell (fd 4) and reads the geometry from the
    /// header. After this the worker side only uses futex, write (doorbell), getppid and memory.
    public static func attach(memfd: CInt, doorbell: CInt,
                              spinIterations: Int = ChannelConfiguration().spinIterations) throws(ChannelError) -> SharedMemoryBuffer {
        var st = stat()
        guard fstat(memfd, &st) == 0 else { throw .system(operation: "fstat", errno: errno) }
        let size = Int(st.st_size)
        guard size >= MappingLayout.headerSize else {
            throw .corrupt(.mappingGeometry(size: size, capacity: 0, maxMessageSize: 0))
        }
        let base = try map(fd: memfd, size: size)
        let magic = UInt32(littleEndian: cordon_load_acquire_u32(
            (base + MappingLayout.magicOffset).assumingMemoryBound(to: UInt32.self)))
        let version = UInt32(littleEndian: base.load(fromByteOffset: MappingLayout.versionOffset, as: UInt32.self))
        let capacity = UInt64(littleEndian: base.load(fromByteOffset: MappingLayout.capacityOffset, as: UInt64.self))
        let maxMessage = UInt64(littleEndian: base.load(fromByteOffset: MappingLayout.maxMessageOffset, as: UInt64.self))
        func fail(_ reason: CorruptionReason) -> ChannelError {
            munmap(base, size)
            return .corrupt(reason)
        }
        guard magic == MappingLayout.magic else { throw fail(.mappingMagic(magic)) }
        guard version == MappingLayout.version else { throw fail(.mappingVersion(version)) }
        let configuration = ChannelConfiguration(
            ringCapacity: capacity <= UInt64(ChannelConfiguration.maximumRingCapacity) ? Int(capacity) : 0,
            maxMessageSize: maxMessage <= UInt64(UInt32.max) ? Int(maxMessage) : 0,
            spinIterations: max(0, spinIterations))
        guard (try? configuration.validate()) != nil,
              MappingLayout.mappingSize(capacity: configuration.ringCapacity) == size else {
            throw fail(.mappingGeometry(size: size, capacity: capacity, maxMessageSize: maxMessage))
        }
        return SharedMemoryBuffer(role: .worker, configuration: configuration, memfd: memfd,
                                  doorbell: Doorbell(fd: doorbell), base: base, mappingSize: size)
    }

    /// mmap(MAP_SHARED), faulted lazily. Prefaulting (MAP_POPULATE) cost 0.85 ms of every cold spawn
    /// and kept the whole ring resident in idle workers; a page is touched only when a message reaches it.
    private static func map(fd: CInt, size: Int) throws(ChannelError) -> UnsafeMutableRawPointer {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .system(operation: "mmap", errno: errno)
        }
        return p
    }

    /// Host side: a wait also ends with `.peerDied` once this pidfd becomes readable (the worker exited).
    /// The fd is duplicated; the caller keeps ownership of its own.
    public func setPeer(pidfd: CInt) {
        let copy = fcntl(pidfd, F_DUPFD_CLOEXEC, 3)
        guard copy >= 0 else { return }
        let old = peerPIDFD.exchange(copy, ordering: .acquiringAndReleasing)
        if old >= 0 { Glibc.close(old) }
    }

    // MARK: - Locked access to each direction's private state

    /// Runs `body` with exclusive access to the sending ring's private state.
    private func withSending<R, E: Error>(_ body: (inout RingProducer) throws(E) -> R) throws(E) -> R {
        txLock.lock()
        defer { txLock.unlock() }
        return try body(&txRing)
    }

    /// Runs `body` with exclusive access to the receiving ring's private state.
    private func withReceiving<R, E: Error>(_ body: (inout RingConsumer) throws(E) -> R) throws(E) -> R {
        rxLock.lock()
        defer { rxLock.unlock() }
        return try body(&rxRing)
    }

    // MARK: - Sending

    /// Encodes and sends a message, waiting up to `timeout` for room (nil: forever, but still ends on peer death).
    public func send(_ message: ChannelMessage, timeout: Duration?) throws(ChannelError) {
        try sendRaw(FrameCodec.encode(message), timeout: timeout)
    }

    /// Encodes and sends a message, or throws `.full` when the ring has no room now.
    public func trySend(_ message: ChannelMessage) throws(ChannelError) {
        try trySendRaw(FrameCodec.encode(message))
    }

    /// Sends one frame's bytes as a record, waiting up to `timeout` for room. For tests, benchmarks, fuzzing.
    public func sendRaw(_ frame: [UInt8], timeout: Duration?) throws(ChannelError) {
        try checkSendable(frame.count)
        let deadline = Deadline(timeout)
        try withSending { (producer) throws(ChannelError) in
            try wait(deadline: deadline) { () throws(ChannelError) -> Bool in
                try checkNotClosedForSending()
                return try producer.fits(frameLength: frame.count)
            }
            frame.withUnsafeBytes { producer.write($0) }
        }
        notifyPeer()
    }

    /// Sends one frame's bytes as a record, or throws `.full` when there is no room now.
    public func trySendRaw(_ frame: [UInt8]) throws(ChannelError) {
        try checkSendable(frame.count)
        try withSending { (producer) throws(ChannelError) in
            try checkNotClosedForSending()
            guard try producer.fits(frameLength: frame.count) else { throw .full }
            frame.withUnsafeBytes { producer.write($0) }
        }
        notifyPeer()
    }

    private func checkSendable(_ count: Int) throws(ChannelError) {
        guard count <= configuration.maxMessageSize else {
            throw .messageTooLarge(size: count, limit: configuration.maxMessageSize)
        }
        if locallyClosed.load(ordering: .acquiring) { throw .closed }
    }

    private func checkNotClosedForSending() throws(ChannelError) {
        if locallyClosed.load(ordering: .acquiring) || cordon_load_acquire_u32(peerClosed) != 0 { throw .closed }
    }

    // MARK: - Receiving

    /// Receives and decodes the next message, waiting up to `timeout` (nil: forever, ends on peer death).
    public func receive(timeout: Duration?) throws(ChannelError) -> ChannelMessage {
        let frame = try receiveRaw(timeout: timeout)
        return try FrameCodec.decode(frame)
    }

    /// Receives and decodes the next message if one is there; nil otherwise. Throws `.closed` once the
    /// peer closed and everything it sent was read.
    public func tryReceive() throws(ChannelError) -> ChannelMessage? {
        guard let frame = try tryReceiveRaw() else { return nil }
        return try FrameCodec.decode(frame)
    }

    /// Receives the next frame's bytes (a private copy), waiting up to `timeout`.
    public func receiveRaw(timeout: Duration?) throws(ChannelError) -> [UInt8] {
        if locallyClosed.load(ordering: .acquiring) { throw .closed }
        let deadline = Deadline(timeout)
        let limit = configuration.maxMessageSize
        let frame = try withReceiving { (consumer) throws(ChannelError) -> [UInt8] in
            var frame: [UInt8]? = nil
            try wait(deadline: deadline) { () throws(ChannelError) -> Bool in
                if locallyClosed.load(ordering: .acquiring) { throw .closed }
                frame = try consumer.read(limit: limit)
                if frame != nil { return true }
                if cordon_load_acquire_u32(peerClosed) != 0 {
                    // The peer closed: it publishes its last records before the flag, so re-check once.
                    frame = try consumer.read(limit: limit)
                    if frame != nil { return true }
                    throw .closed
                }
                return false
            }
            return frame ?? []
        }
        notifyPeer()
        return frame
    }

    /// Receives the next frame's bytes if any; nil when the ring is empty.
    public func tryReceiveRaw() throws(ChannelError) -> [UInt8]? {
        if locallyClosed.load(ordering: .acquiring) { throw .closed }
        let limit = configuration.maxMessageSize
        let frame = try withReceiving { (consumer) throws(ChannelError) -> [UInt8]? in
            if let frame = try consumer.read(limit: limit) { return frame }
            if cordon_load_acquire_u32(peerClosed) != 0 {
                if let frame = try consumer.read(limit: limit) { return frame }
                throw .closed
            }
            return nil
        }
        if frame != nil { notifyPeer() }
        return frame
    }

    /// Host side, for an epoll loop: drains the doorbell, announces "host waiting" and returns false if
    /// data (or a close) arrived meanwhile — then call `tryReceive` instead of sleeping, so no wake-up is lost.
    ///
    /// A loop that reads the doorbell itself each time it wakes, before it looks at the ring, may pass
    /// `drainingDoorbell: false` and save a system call: the worker rings only after it finds the flag
    /// this sets, so a ring since that read is one the next wake-up reads.
    public func prepareToSleep(drainingDoorbell: Bool = true) -> Bool {
        if drainingDoorbell { doorbell.drain() }
        cordon_store_release_u32(hostWaiting, 1)
        cordon_fence_seq_cst()
        return !hasInput
    }

    /// Host side: whether `tryReceive` has something to report (a frame, a close, a corrupt
    /// counter), judged from the shared counters alone: no system call, so a loop may poll it while
    /// it expects an answer within microseconds.
    public var hasInput: Bool {
        if cordon_load_acquire_u32(peerClosed) != 0 || locallyClosed.load(ordering: .acquiring) { return true }
        return withReceiving { consumer -> Bool in
            // A corrupt counter is "something to do": tryReceive will report it.
            (try? consumer.available()).map { $0 > 0 } ?? true
        }
    }

    /// Host side: withdraws "host waiting", so the worker no longer rings the doorbell after it
    /// publishes. Only for a host that will poll `hasInput` until it next calls `prepareToSleep`:
    /// anything the worker sends in between is seen by the polling, not by the doorbell.
    public func stopWaiting() {
        // Only the host sets the flag and the worker only clears it, so a 0 read here is 0 still; not
        // storing it again leaves the worker's cached copy of the line valid for its next look.
        if cordon_load_acquire_u32(hostWaiting) != 0 { cordon_store_release_u32(hostWaiting, 0) }
    }

    // MARK: - Closing

    /// Marks this side closed in the header and wakes the peer (and any local waiter). Idempotent.
    public func close() {
        locallyClosed.store(true, ordering: .releasing)
        cordon_store_release_u32(ownClosed, 1)
        cordon_fence_seq_cst()
        _ = cordon_fetch_add_u32(workerWake, 1)
        _ = cordon_futex_wake(workerWake, Int32.max)
        doorbell.ring()
    }

    // MARK: - Waking and waiting

    /// After publishing (a tail, or a head that frees space), wake the peer only if it said it sleeps.
    /// The seq_cst fence pairs with the sleeper's fence between "I am waiting" and its re-check.
    private func notifyPeer() {
        cordon_fence_seq_cst()
        switch role {
        case .host:
            // The worker's flag is hostile input, but it only decides whether we make a wake-up call.
            if cordon_load_acquire_u32(workerWaiting) != 0 {
                _ = cordon_fetch_add_u32(workerWake, 1)
                _ = cordon_futex_wake(workerWake, Int32.max)
            }
        case .worker:
            if cordon_load_acquire_u32(hostWaiting) != 0, cordon_exchange_u32(hostWaiting, 0) != 0 {
                doorbell.ring()
            }
        }
    }

    /// Spins, then sleeps, until `ready` returns true; throws `.timedOut`, `.peerDied`, `.closed`, or
    /// whatever `ready` throws.
    private func wait(deadline: Deadline, _ ready: () throws(ChannelError) -> Bool) throws(ChannelError) {
        if try ready() { return }
        let limit = configuration.spinIterations
        let floor = min(limit, Self.minimumSpinBudget)
        let probe = waitCounter.wrappingAdd(1, ordering: .relaxed).oldValue % Self.spinProbeInterval == 0
        let current = spinBudget.load(ordering: .relaxed)
        let budget = probe ? limit : current
        if deadline.nanoseconds != 0 {
            for _ in 0..<budget {
                cordon_cpu_relax()
                if try ready() {
                    spinBudget.store(min(limit, max(budget * 2, floor)), ordering: .relaxed)
                    return
                }
            }
            spinBudget.store(max(floor, current / 2), ordering: .relaxed)
        }
        while true {
            let remaining = deadline.remaining()
            switch role {
            case .host:
                cordon_store_release_u32(hostWaiting, 1)
                cordon_fence_seq_cst()
                if try ready() {
                    cordon_store_release_u32(hostWaiting, 0)
                    return
                }
                if remaining == 0 {
                    cordon_store_release_u32(hostWaiting, 0)
                    throw .timedOut
                }
                let slice = min(remaining ?? .max, Self.hostSleepSliceNanoseconds)
                let peerExited = hostSleep(nanoseconds: slice)
                doorbell.drain()
                cordon_store_release_u32(hostWaiting, 0)
                if try ready() { return }
                if peerExited { throw .peerDied }
            case .worker:
                cordon_store_release_u32(workerWaiting, 1)
                cordon_fence_seq_cst()
                let sequence = cordon_load_acquire_u32(workerWake)
                if try ready() {
                    cordon_store_release_u32(workerWaiting, 0)
                    return
                }
                if getppid() != parentAtAttach {
                    cordon_store_release_u32(workerWaiting, 0)
                    throw .peerDied
                }
                if remaining == 0 {
                    cordon_store_release_u32(workerWaiting, 0)
                    throw .timedOut
                }
                let slice = min(remaining ?? .max, Self.workerSleepSliceNanoseconds)
                _ = cordon_futex_wait(workerWake, sequence, Int64(slice))
                cordon_store_release_u32(workerWaiting, 0)
            }
        }
    }

    /// Host: sleeps on the doorbell and the peer's pidfd for at most `nanoseconds`; true if the peer exited.
    private func hostSleep(nanoseconds: UInt64) -> Bool {
        var fds = [pollfd(fd: doorbell.fd, events: Int16(POLLIN), revents: 0)]
        let pidfd = peerPIDFD.load(ordering: .acquiring)
        if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
        // poll(2) has millisecond resolution: round up so a short timeout still sleeps instead of spinning.
        let milliseconds = Int32((nanoseconds + 999_999) / 1_000_000)
        let n = poll(&fds, nfds_t(fds.count), milliseconds)
        if n > 0, fds.count > 1, fds[1].revents != 0 { return true }
        return false
    }
}
