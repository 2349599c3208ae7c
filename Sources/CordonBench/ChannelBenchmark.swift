// `cordon-bench channel`: host-call round trips through SharedMemoryBuffer against the same
// request/reply over a Unix socketpair, both with a real CordonTestPeer process doing the same codec
// work (decode the request, re-encode it as the reply). Results go in docs/performance.md, "## Channel".
import CCordonShims
import CordonChannel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Failure of the channel benchmark's own setup.
struct ChannelBenchmarkError: Error, CustomStringConvertible {
    let description: String
}

/// One measured transport at one payload size.
private struct ChannelBenchResult {
    var roundTrips: Int
    var p50: Double  // µs
    var p99: Double  // µs
    var seconds: Double
    var roundTripsPerSecond: Double { Double(roundTrips) / seconds }
}

/// Options of `cordon-bench channel`.
private struct ChannelBenchOptions {
    var iterations = 100_000
    var largeIterations = 100_000
    var warmup = 2_000
    var sizes = [64, 4096, 65536]
    var spin = ChannelConfiguration().spinIterations

    init(_ arguments: [String]) throws {
        var i = 0
        func value() throws -> Int {
            i += 1
            guard i < arguments.count, let v = Int(arguments[i]), v >= 0 else {
                throw ChannelBenchmarkError(description: "\(arguments[i - 1]) needs a non-negative integer")
            }
            return v
        }
        while i < arguments.count {
            switch arguments[i] {
            case "channel": break
            case "--iterations": iterations = try value()
            case "--large-iterations": largeIterations = try value()
            case "--warmup": warmup = try value()
            case "--spin": spin = try value()
            case "--sizes":
                i += 1
                guard i < arguments.count else { throw ChannelBenchmarkError(description: "--sizes needs a list") }
                sizes = arguments[i].split(separator: ",").compactMap { Int($0) }
            default:
                // `cordon-bench all` passes every option to every benchmark: skip the ones meant for others.
                break
            }
            i += 1
        }
    }
}

/// Monotonic nanoseconds (vDSO, no syscall).
private func channelBenchNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The CordonTestPeer executable next to the running binary.
private func channelBenchPeerPath() throws -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw ChannelBenchmarkError(description: "readlink(/proc/self/exe) failed") }
    var dir = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let last = dir.last, last != "/" { dir.removeLast() }
    let path = dir + "CordonTestPeer"
    guard access(path, X_OK) == 0 else {
        throw ChannelBenchmarkError(description: "\(path) not found: build the CordonTestPeer product too")
    }
    return path
}

/// Spawns the peer with `fds[i]` at fd i; returns (pid, pidfd).
private func channelBenchSpawn(_ arguments: [String], fds: [CInt]) throws -> (pid: pid_t, pidfd: CInt) {
    let path = try channelBenchPeerPath()
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    let envp: [UnsafeMutablePointer<CChar>?] = [nil]
    let result = argv.withUnsafeBufferPointer { a in
        envp.withUnsafeBufferPointer { e in
            fds.withUnsafeBufferPointer { f in
                var request = cordon_spawn_request(path: a[0], argv: a.baseAddress, envp: e.baseAddress,
                                                   fds: f.baseAddress, nfds: Int32(fds.count), clone_flags: 0,
                                                   death_signal: SIGKILL)
                return cordon_spawn(&request)
            }
        }
    }
    guard result.pid > 0 else { throw ChannelBenchmarkError(description: "spawn failed: errno \(result.err)") }
    return (result.pid, result.pidfd)
}

/// Reaps the peer.
private func channelBenchReap(_ peer: (pid: pid_t, pidfd: CInt)) {
    var status: Int32 = 0
    while waitpid(peer.pid, &status, 0) < 0 && errno == EINTR {}
    close(peer.pidfd)
}

/// p50/p99 of a latency sample, in µs.
private func channelBenchPercentiles(_ samples: inout [UInt64]) -> (Double, Double) {
    samples.sort()
    let p50 = samples[samples.count / 2]
    let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
    return (Double(p50) / 1000, Double(p99) / 1000)
}

/// The request both transports carry: a host call whose one blob is the payload.
private func channelBenchRequest(_ id: Int, _ payload: [UInt8]) -> ChannelMessage {
    .hostCall(HostCallRequest(id: UInt32(truncatingIfNeeded: id), function: "bench", integers: [], blobs: [payload]))
}

/// Round trips through SharedMemoryBuffer with an `echo` peer.
private func channelBenchChannel(size: Int, iterations: Int, warmup: Int, spin: Int) throws -> ChannelBenchResult {
    let channel = try SharedMemoryBuffer.create(configuration: ChannelConfiguration(spinIterations: spin))
    let peer = try channelBenchSpawn(["echo"], fds: [0, 1, 2, channel.memfd, channel.doorbellFD])
    channel.setPeer(pidfd: peer.pidfd)
    defer {
        channel.close()
        channelBenchReap(peer)
    }
    let payload = [UInt8](repeating: 0x5A, count: size)
    var samples = [UInt64](repeating: 0, count: iterations)
    var start: UInt64 = 0
    for i in 0..<(warmup + iterations) {
        if i == warmup { start = channelBenchNow() }
        let t0 = channelBenchNow()
        try channel.send(channelBenchRequest(i, payload), timeout: .seconds(10))
        let reply = try channel.receive(timeout: .seconds(10))
        let t1 = channelBenchNow()
        guard case .hostCall(let echoed) = reply, echoed.id == UInt32(truncatingIfNeeded: i),
              echoed.blobs.first?.count == size else {
            throw ChannelBenchmarkError(description: "channel peer answered \(reply)")
        }
        if i >= warmup { samples[i - warmup] = t1 - t0 }
    }
    let seconds = Double(channelBenchNow() - start) / 1e9
    let (p50, p99) = channelBenchPercentiles(&samples)
    return ChannelBenchResult(roundTrips: iterations, p50: p50, p99: p99, seconds: seconds)
}

/// Reads exactly `count` bytes.
private func channelBenchReadExactly(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws {
    var done = 0
    while done < count {
        let n = read(fd, buffer + done, count - done)
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else {
            throw ChannelBenchmarkError(description: "socket read failed (errno \(errno))")
        }
    }
}

/// Writes all `count` bytes.
private func channelBenchWriteAll(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) throws {
    var done = 0
    while done < count {
        let n = write(fd, buffer + done, count - done)
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else {
            throw ChannelBenchmarkError(description: "socket write failed (errno \(errno))")
        }
    }
}

/// The same request/reply over socketpair(AF_UNIX, SOCK_STREAM) with a `socket-echo` peer.
private func channelBenchSocketpair(size: Int, iterations: Int, warmup: Int) throws -> ChannelBenchResult {
    var fds: [CInt] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
        throw ChannelBenchmarkError(description: "socketpair failed (errno \(errno))")
    }
    let peer = try channelBenchSpawn(["socket-echo"], fds: [0, 1, 2, fds[1]])
    close(fds[1])
    let fd = fds[0]
    defer {
        close(fd)
        channelBenchReap(peer)
    }
    let payload = [UInt8](repeating: 0x5A, count: size)
    var samples = [UInt64](repeating: 0, count: iterations)
    var start: UInt64 = 0
    var length: UInt32 = 0
    for i in 0..<(warmup + iterations) {
        if i == warmup { start = channelBenchNow() }
        let t0 = channelBenchNow()
        let frame = FrameCodec.encode(channelBenchRequest(i, payload))
        var record = [UInt8]()
        record.reserveCapacity(4 + frame.count)
        withUnsafeBytes(of: UInt32(frame.count).littleEndian) { record.append(contentsOf: $0) }
        record.append(contentsOf: frame)
        try record.withUnsafeBytes { try channelBenchWriteAll(fd, $0.baseAddress!, $0.count) }
        try channelBenchReadExactly(fd, &length, 4)
        let n = Int(UInt32(littleEndian: length))
        var replyFrame = [UInt8](repeating: 0, count: n)
        try replyFrame.withUnsafeMutableBytes { try channelBenchReadExactly(fd, $0.baseAddress!, n) }
        let reply = try FrameCodec.decode(replyFrame)
        let t1 = channelBenchNow()
        guard case .hostCall(let echoed) = reply, echoed.blobs.first?.count == size else {
            throw ChannelBenchmarkError(description: "socket peer answered \(reply)")
        }
        if i >= warmup { samples[i - warmup] = t1 - t0 }
    }
    let seconds = Double(channelBenchNow() - start) / 1e9
    let (p50, p99) = channelBenchPercentiles(&samples)
    return ChannelBenchResult(roundTrips: iterations, p50: p50, p99: p99, seconds: seconds)
}

/// The floor: one number each way through a shared page, both processes spinning (`ping-pong`
/// peer): what any request and reply between two processes costs here before a byte of it is framed.
private func channelBenchFloor(iterations: Int, warmup: Int) throws -> ChannelBenchResult {
    let fd = cordon_memfd_create("cordon-bench-floor", 1)
    guard fd >= 0, ftruncate(fd, 4096) == 0 else { throw ChannelBenchmarkError(description: "memfd failed (errno \(errno))") }
    defer { close(fd) }
    guard let base = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
        throw ChannelBenchmarkError(description: "mmap failed (errno \(errno))")
    }
    defer { munmap(base, 4096) }
    let request = base.assumingMemoryBound(to: UInt64.self)
    let reply = (base + 64).assumingMemoryBound(to: UInt64.self)
    let peer = try channelBenchSpawn(["ping-pong"], fds: [0, 1, 2, fd])
    defer {
        cordon_store_release_u64(request, UInt64.max)
        channelBenchReap(peer)
    }
    var samples = [UInt64](repeating: 0, count: iterations)
    var start: UInt64 = 0
    for i in 0..<(warmup + iterations) {
        if i == warmup { start = channelBenchNow() }
        let sequence = UInt64(i + 1)
        let t0 = channelBenchNow()
        cordon_store_release_u64(request, sequence)
        var polls = 0
        while cordon_load_acquire_u64(reply) != sequence {
            cordon_cpu_relax()
            polls &+= 1
            // A peer that died would leave us spinning: look every million polls.
            if polls & 0xFFFFF == 0, waitpid(peer.pid, nil, WNOHANG) != 0 {
                throw ChannelBenchmarkError(description: "the ping-pong peer exited")
            }
        }
        let t1 = channelBenchNow()
        if i >= warmup { samples[i - warmup] = t1 - t0 }
    }
    let seconds = Double(channelBenchNow() - start) / 1e9
    let (p50, p99) = channelBenchPercentiles(&samples)
    return ChannelBenchResult(roundTrips: iterations, p50: p50, p99: p99, seconds: seconds)
}

/// Left-pads `s` to `width` columns.
private func channelBenchPad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

/// Formats a number with `digits` decimals.
private func channelBenchFormat(_ v: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    if digits == 0 { return String(Int(r)) }
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}

/// Entry point for `cordon-bench channel`: runs both transports per payload size and prints a table.
func runChannelBenchmark(arguments: [String]) throws {
    let options = try ChannelBenchOptions(arguments)
    print("cordon-bench channel: host-call round trip (request + echoed reply, both decoded and re-encoded)")
    print("warm-up \(options.warmup) round trips per run; spinIterations \(options.spin); MB/s = payload bytes per direction")
    let header = [channelBenchPad("payload", 8), channelBenchPad("transport", 11), channelBenchPad("round trips", 12), channelBenchPad("p50 µs", 9),
                  channelBenchPad("p99 µs", 9), channelBenchPad("rt/s", 10), channelBenchPad("MB/s", 9)].joined(separator: " | ")
    print(header)
    print(String(repeating: "-", count: header.count))
    var ratios: [String] = []
    for size in options.sizes {
        let iterations = size >= 65536 ? options.largeIterations : options.iterations
        let channel = try channelBenchChannel(size: size, iterations: iterations, warmup: options.warmup, spin: options.spin)
        let socket = try channelBenchSocketpair(size: size, iterations: iterations, warmup: options.warmup)
        for (name, r) in [("channel", channel), ("socketpair", socket)] {
            let mbps = r.roundTripsPerSecond * Double(size) / 1e6
            print([channelBenchPad(String(size), 8), channelBenchPad(name, 11), channelBenchPad(String(r.roundTrips), 12), channelBenchPad(channelBenchFormat(r.p50), 9),
                   channelBenchPad(channelBenchFormat(r.p99), 9), channelBenchPad(channelBenchFormat(r.roundTripsPerSecond, 0), 10), channelBenchPad(channelBenchFormat(mbps, 1), 9)]
                .joined(separator: " | "))
        }
        ratios.append("\(size) B: p50 channel/socketpair = \(channelBenchFormat(channel.p50 / socket.p50, 3)), "
            + "p99 = \(channelBenchFormat(channel.p99 / socket.p99, 3)), "
            + "throughput channel/socketpair = \(channelBenchFormat(channel.roundTripsPerSecond / socket.roundTripsPerSecond, 2))×")
    }
    print("")
    for line in ratios { print(line) }
    let floor = try channelBenchFloor(iterations: options.iterations, warmup: options.warmup)
    print("floor: one number each way through shared memory between two processes, both spinning (no frame, codec or lock): "
          + "p50 \(channelBenchFormat(floor.p50, 3)) µs, p99 \(channelBenchFormat(floor.p99, 3)) µs over \(floor.roundTrips) round trips")
}
