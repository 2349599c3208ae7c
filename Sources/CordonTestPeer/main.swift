// A worker-side peer for the channel tests and benchmark. It attaches to the memfd at fd 3 and the
// doorbell at fd 4 (as the real worker does) and behaves per argv[1]:
//   echo [SPIN]          reply every message (decoded and re-encoded) until the host closes;
//                        SPIN overrides the worker's spin iterations (0: always sleep on the futex)
//   echo-raw             reply every frame byte-for-byte, without decoding
//   echo-count N         echo N messages, then close and exit
//   silent               read and drop every message, never answer
//   stall                attach and never read (the host's ring fills up)
//   sigkill-after MS     attach, stay silent for MS milliseconds, then SIGKILL itself
//   flood N SIZE         send N raw frames of SIZE bytes (first 8 bytes: sequence number), then close
//   hostile SEED N       scribble random counters, lengths, frames and garbage into the mapping N times
//   socket-echo          fd 3 is a stream socket: echo [u32 length][frame] records (benchmark baseline)
//   ping-pong            fd 3 is a memfd: answer each number the host stores at offset 0 by storing it at
//                        offset 64, spinning, until the host stores UInt64.max (the benchmark's floor)
//   orphan-silent        spawn a `silent` child on fds 3/4, write its pid (i32) to fd 5, exit after 300 ms:
//                        the child must notice its parent changed and exit (worker-side death detection)
// Exit status: 0 on a clean end, 2 on a channel error, 64 on bad usage.
import CCordonShims
import CordonChannel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

let memfdNumber: CInt = 3
let doorbellNumber: CInt = 4

/// Exits with a message on stderr.
func die(_ message: String, status: Int32 = 2) -> Never {
    var line = "CordonTestPeer: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

/// Attaches to the inherited channel fds or exits.
func attachChannel(spinIterations: Int = ChannelConfiguration().spinIterations) -> SharedMemoryBuffer {
    do {
        return try SharedMemoryBuffer.attach(memfd: memfdNumber, doorbell: doorbellNumber, spinIterations: spinIterations)
    } catch {
        die("attach: \(error)")
    }
}

/// Ends the loop quietly when the host closed or died; any other error exits with status 2.
func finish(_ error: ChannelError) -> Never {
    switch error {
    case .closed, .peerDied: exit(0)
    default: die("\(error)")
    }
}

/// Deterministic generator so a failing hostile run can be replayed from its seed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: UInt64) -> UInt64 { n == 0 ? 0 : next() % n }
}

func echo(raw: Bool, limit: Int?, spinIterations: Int = ChannelConfiguration().spinIterations) -> Never {
    let channel = attachChannel(spinIterations: spinIterations)
    var count = 0
    do throws(ChannelError) {
        while limit.map({ count < $0 }) ?? true {
            if raw {
                try channel.sendRaw(try channel.receiveRaw(timeout: nil), timeout: nil)
            } else {
                try channel.send(try channel.receive(timeout: nil), timeout: nil)
            }
            count += 1
        }
        channel.close()
        exit(0)
    } catch {
        finish(error)
    }
}

func silent() -> Never {
    let channel = attachChannel()
    do throws(ChannelError) {
        while true { _ = try channel.receiveRaw(timeout: nil) }
    } catch {
        finish(error)
    }
}

/// Dies by SIGKILL while the host is waiting on it (no cleanup, no close flag: like an OOM kill).
func sigkillAfter(milliseconds: Int) -> Never {
    _ = attachChannel()
    usleep(UInt32(milliseconds) * 1000)
    kill(getpid(), SIGKILL)
    while true { pause() }
}

func stall() -> Never {
    _ = attachChannel()
    while true { pause() }
}

func flood(count: Int, size: Int) -> Never {
    let channel = attachChannel()
    var frame = [UInt8](repeating: 0xAB, count: max(size, 8))
    do throws(ChannelError) {
        for i in 0..<count {
            withUnsafeBytes(of: UInt64(i).littleEndian) { for j in 0..<8 { frame[j] = $0[j] } }
            try channel.sendRaw(frame, timeout: nil)
        }
        channel.close()
        exit(0)
    } catch {
        finish(error)
    }
}

/// Writes random values everywhere the worker can reach, including the words only the host should
/// write, then rings the doorbell so the host reads while we keep scribbling.
func hostile(seed: UInt64, iterations: Int) -> Never {
    let channel = attachChannel()
    var st = stat()
    guard fstat(memfdNumber, &st) == 0 else { die("fstat") }
    let size = Int(st.st_size)
    guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfdNumber, 0),
          base != UnsafeMutableRawPointer(bitPattern: -1) else { die("mmap") }
    let capacity = channel.configuration.ringCapacity
    let ringOffset = 4096 + capacity  // worker→host ring
    let counterOffsets = [64, 128, 192, 256]
    var rng = SplitMix64(state: seed)
    let sample = FrameCodec.encode(.hostCall(HostCallRequest(id: 7, function: "host_log", integers: [1, 2],
                                                             blobs: [[1, 2, 3], []])))
    func randomCounter(near: UInt64) -> UInt64 {
        switch rng.below(4) {
        case 0: return rng.next()
        case 1: return near &+ rng.below(UInt64(capacity) * 2) &- UInt64(capacity)
        case 2: return (near &+ rng.below(UInt64(capacity) + 16)) & ~7
        default: return near &+ 8 &* rng.below(8)
        }
    }
    for _ in 0..<iterations {
        let w2hHead = base.load(fromByteOffset: 256, as: UInt64.self)
        switch rng.below(6) {
        case 0:  // any counter, including the host's own
            let offset = counterOffsets[Int(rng.below(4))]
            base.storeBytes(of: randomCounter(near: w2hHead), toByteOffset: offset, as: UInt64.self)
        case 1:  // any header word
            let offset = Int(rng.below(UInt64(4096 / 4))) * 4
            base.storeBytes(of: UInt32(truncatingIfNeeded: rng.next()), toByteOffset: offset, as: UInt32.self)
        case 2:  // garbage bytes in the ring
            for _ in 0..<Int(rng.below(64)) {
                base.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()),
                                toByteOffset: ringOffset + Int(rng.below(UInt64(capacity))), as: UInt8.self)
            }
        default:  // a record at the host's head: random length, a (possibly corrupted) frame, random tail
            let slot = ringOffset + Int(w2hHead & UInt64(capacity - 1) & ~7)
            var frame = sample
            if rng.below(2) == 0 { frame[Int(rng.below(UInt64(frame.count)))] = UInt8(truncatingIfNeeded: rng.next()) }
            let length: UInt32 = rng.below(3) == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(frame.count)
            base.storeBytes(of: length, toByteOffset: slot, as: UInt32.self)
            for (i, b) in frame.enumerated() {
                base.storeBytes(of: b, toByteOffset: ringOffset + Int((w2hHead + 4 + UInt64(i)) & UInt64(capacity - 1)),
                                as: UInt8.self)
            }
            base.storeBytes(of: randomCounter(near: w2hHead), toByteOffset: 192, as: UInt64.self)
        }
        if rng.below(4) == 0 {
            var one: UInt64 = 1
            _ = write(doorbellNumber, &one, 8)
        }
        for _ in 0..<Int(rng.below(200)) { cordon_cpu_relax() }
    }
    exit(0)
}

/// Reads exactly `count` bytes or returns false at end of stream.
func readExactly(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Bool {
    var done = 0
    while done < count {
        let n = read(fd, buffer + done, count - done)
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return false }
    }
    return true
}

/// Writes all `count` bytes.
func writeAll(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) {
    var done = 0
    while done < count {
        let n = write(fd, buffer + done, count - done)
        if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { exit(0) }
    }
}

/// The socketpair baseline: the same decode + re-encode work as `echo`, over a stream socket.
func socketEcho() -> Never {
    let fd = memfdNumber
    var length: UInt32 = 0
    var frame = [UInt8]()
    while readExactly(fd, &length, 4) {
        let n = Int(UInt32(littleEndian: length))
        frame = [UInt8](repeating: 0, count: n)
        guard frame.withUnsafeMutableBytes({ readExactly(fd, $0.baseAddress!, n) }) || n == 0 else { break }
        let message: ChannelMessage
        do { message = try FrameCodec.decode(frame) } catch { die("\(error)") }
        var reply = FrameCodec.encode(message)
        var replyLength = UInt32(reply.count).littleEndian
        // One write for prefix + frame, as the channel publishes one record.
        reply.insert(contentsOf: withUnsafeBytes(of: &replyLength) { Array($0) }, at: 0)
        reply.withUnsafeBytes { writeAll(fd, $0.baseAddress!, $0.count) }
    }
    exit(0)
}

/// Spawns a `silent` grandchild sharing our channel fds, reports its pid on fd 5, then exits so the
/// grandchild is re-parented.
func orphanSilent() -> Never {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { die("readlink") }
    let path = strdup(buffer)
    let mode = strdup("silent")
    let argv: [UnsafeMutablePointer<CChar>?] = [path, mode, nil]
    let envp: [UnsafeMutablePointer<CChar>?] = [nil]
    let fds: [CInt] = [0, 1, 2, memfdNumber, doorbellNumber]
    let result = argv.withUnsafeBufferPointer { a in
        envp.withUnsafeBufferPointer { e in
            fds.withUnsafeBufferPointer { f in
                var request = cordon_spawn_request(path: path, argv: a.baseAddress, envp: e.baseAddress,
                                                   fds: f.baseAddress, nfds: 5, clone_flags: 0, death_signal: 0)
                return cordon_spawn(&request)
            }
        }
    }
    guard result.pid > 0 else { die("spawn: errno \(result.err)") }
    var pid = Int32(result.pid)
    _ = write(5, &pid, 4)
    usleep(300_000)  // let the grandchild attach (and record us as its parent) first
    exit(0)
}

/// The floor under any request and reply between two processes on this machine: no frame, no codec,
/// no lock, just one number carried each way through shared memory, each side spinning. Offsets 0
/// and 64 are on cache lines of their own, so a round trip moves exactly two lines between cores.
func pingPong() -> Never {
    guard let base = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfdNumber, 0), base != MAP_FAILED else {
        die("mmap failed: errno \(errno)")
    }
    let request = base.assumingMemoryBound(to: UInt64.self)
    let reply = (base + 64).assumingMemoryBound(to: UInt64.self)
    var last: UInt64 = 0
    while true {
        let value = cordon_load_acquire_u64(request)
        if value == last { cordon_cpu_relax(); continue }
        if value == UInt64.max { exit(0) }
        cordon_store_release_u64(reply, value)
        last = value
    }
}

let args = CommandLine.arguments
guard args.count >= 2 else { die("usage: CordonTestPeer MODE [ARGS]", status: 64) }
func intArg(_ i: Int) -> Int {
    guard args.count > i, let v = Int(args[i]) else { die("mode \(args[1]) needs integer argument \(i - 1)", status: 64) }
    return v
}
switch args[1] {
case "echo": echo(raw: false, limit: nil, spinIterations: args.count > 2 ? intArg(2) : ChannelConfiguration().spinIterations)
case "echo-raw": echo(raw: true, limit: nil)
case "echo-count": echo(raw: false, limit: intArg(2))
case "silent": silent()
case "stall": stall()
case "sigkill-after": sigkillAfter(milliseconds: intArg(2))
case "flood": flood(count: intArg(2), size: intArg(3))
case "hostile": hostile(seed: UInt64(truncatingIfNeeded: intArg(2)), iterations: intArg(3))
case "socket-echo": socketEcho()
case "ping-pong": pingPong()
case "orphan-silent": orphanSilent()
default: die("unknown mode \(args[1])", status: 64)
}
