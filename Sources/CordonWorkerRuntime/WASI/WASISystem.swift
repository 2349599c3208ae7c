// WASI preview 1 for one plugin instance. Everything that needs no file system is answered here, in
// the worker; every other fd_* / path_* call becomes one host call to the supervisor's broker
// (WASISystem+Broker.swift, docs/wasi.md). A bad guest pointer is an errno (EFAULT), never a trap.
import CordonChannel
import WasmKit

/// The parameters of one WASI call, typed by the import's checked signature.
struct WASIArguments {
    let values: UnsafeBufferPointer<Value>

    /// Parameter `i` as an unsigned 32-bit value (pointers, sizes, fds, flags).
    func u32(_ i: Int) -> UInt32 {
        switch values[i] {
        case .i32(let v): v
        case .i64(let v): UInt32(truncatingIfNeeded: v)
        default: 0
        }
    }

    /// Parameter `i` as an unsigned 64-bit value (offsets, rights, timestamps).
    func u64(_ i: Int) -> UInt64 {
        switch values[i] {
        case .i64(let v): v
        case .i32(let v): UInt64(v)
        default: 0
        }
    }

    /// Parameter `i` as a broker integer: a u32 widened, a u64 as its bit pattern (docs/wasi.md).
    func integer(_ i: Int) -> Int64 {
        switch values[i] {
        case .i32(let v): Int64(v)
        case .i64(let v): Int64(bitPattern: v)
        default: 0
        }
    }
}

/// NUL-terminated strings laid out once, as `args_get` / `environ_get` copy them.
struct FlatStrings {
    let count: UInt32
    /// Every string followed by a NUL.
    let bytes: [UInt8]
    /// Offset of each string in `bytes`.
    let offsets: [UInt32]

    init(_ strings: [String]) {
        var bytes: [UInt8] = []
        var offsets: [UInt32] = []
        for string in strings {
            offsets.append(UInt32(truncatingIfNeeded: bytes.count))
            bytes.append(contentsOf: string.utf8)
            bytes.append(0)
        }
        self.count = UInt32(truncatingIfNeeded: strings.count)
        self.bytes = bytes
        self.offsets = offsets
    }
}

/// Serves `wasi_snapshot_preview1` for one plugin.
final class WASISystem {
    let context: HostContext
    /// The most payload bytes one brokered read or write asks for: the host-call cap less 64 bytes
    /// for the frame and fields around it.
    let brokerChunk: Int
    /// Preopens are guest fds 3 … 3 + count − 1; wasi-libc probes upward until EBADF at start-up.
    let preopenCount: UInt32
    private let arguments: FlatStrings
    private let environment: FlatStrings
    let clock: WASIClock
    private var random: ChaCha20
    private let maxOutputBytes: UInt32
    var stdin = InputBuffer()
    var stdout = OutputBuffer(stream: .stdout)
    var stderr = OutputBuffer(stream: .stderr)
    /// The call whose output is being buffered.
    private var callID: UInt32 = 0
    /// A word nobody wakes: poll_oneoff sleeps on it with a futex timeout (futex is already allowed;
    /// nanosleep is not in the worker's seccomp allow-list).
    let sleepWord: UnsafeMutablePointer<UInt32>
    /// Files the supervisor donated (read here, without a host call); every other fd ≥ 3 is brokered.
    var donated = DonatedFiles()

    init(bootstrap: WASIBootstrap, context: HostContext, limits: WasmLimits) {
        self.context = context
        brokerChunk = max(Int(limits.maxHostCallBytes) - 64, 1)
        preopenCount = UInt32(truncatingIfNeeded: bootstrap.preopens.count)
        arguments = FlatStrings(bootstrap.arguments)
        environment = FlatStrings(bootstrap.environment)
        clock = WASIClock(resolutionNanoseconds: bootstrap.clockResolutionNanoseconds)
        random = ChaCha20(key: bootstrap.randomSeed)
        maxOutputBytes = bootstrap.maxOutputBytes
        sleepWord = .allocate(capacity: 1)
        sleepWord.initialize(to: 0)
    }

    deinit {
        donated.closeAll()
        sleepWord.deallocate()
    }

    var memory: GuestMemory? { context.memory }

    /// Starts a call: fresh stdin, empty output buffers with a full allowance (or `allowance`).
    func beginCall(id: UInt32, stdin input: [UInt8], allowance: UInt32? = nil) {
        callID = id
        stdin.reset(input)
        stdout.reset(allowance: allowance ?? maxOutputBytes)
        stderr.reset(allowance: allowance ?? maxOutputBytes)
    }

    /// Ends a call: sends what is still buffered and returns the bytes dropped over the allowance.
    func endCall() throws -> UInt64 {
        try flush(all: true)
        return stdout.dropped &+ stderr.dropped
    }

    /// Sends every full output frame (or, with `all`, everything buffered), stdout first.
    func flush(all: Bool) throws {
        for chunk in stdout.takeChunks(all: all) { try context.emit(OutputChunk(id: callID, stream: .stdout, data: chunk)) }
        for chunk in stderr.takeChunks(all: all) { try context.emit(OutputChunk(id: callID, stream: .stderr, data: chunk)) }
    }

    /// Runs one WASI function and returns its errno; `proc_exit` throws `ProcExit`, a broken channel
    /// throws `HostTransportFailure` (the call cannot go on without the supervisor).
    func invoke(_ function: WASIFunction, _ a: WASIArguments) throws -> WASIErrno.RawValue {
        switch function {
        case .argsSizesGet: return sizes(arguments, a.u32(0), a.u32(1))
        case .argsGet: return copy(arguments, a.u32(0), a.u32(1))
        case .environSizesGet: return sizes(environment, a.u32(0), a.u32(1))
        case .environGet: return copy(environment, a.u32(0), a.u32(1))
        case .clockResGet:
            guard WASIClock.kernelClock(a.u32(0)) != nil else { return WASIErrno.invalid.rawValue }
            return store(u64: clock.resolution, at: a.u32(1))
        case .clockTimeGet:
            guard memory?.contains(pointer: a.u32(2), length: 8) == true else { return WASIErrno.fault.rawValue }
            guard let now = clock.now(a.u32(0)) else { return WASIErrno.invalid.rawValue }
            return store(u64: now, at: a.u32(2))
        case .randomGet: return randomGet(a.u32(0), a.u32(1))
        case .schedYield: return WASIErrno.success.rawValue
        case .procExit: throw ProcExit(code: Int32(bitPattern: a.u32(0)))
        case .procRaise: return WASIErrno.noSys.rawValue
        case .pollOneoff: return pollOneoff(a.u32(0), a.u32(1), a.u32(2), a.u32(3))
        case .sockAccept, .sockRecv, .sockSend, .sockShutdown: return try socket(fd: a.u32(0))
        default:
            return try fileCall(function, a)
        }
    }

    // MARK: - args, environ, random

    private func store(u64 value: UInt64, at pointer: UInt32) -> WASIErrno.RawValue {
        memory?.store(u64: value, at: pointer) == true ? WASIErrno.success.rawValue : WASIErrno.fault.rawValue
    }

    private func sizes(_ strings: FlatStrings, _ countPointer: UInt32, _ sizePointer: UInt32) -> WASIErrno.RawValue {
        guard let memory, memory.contains(pointer: countPointer, length: 4), memory.contains(pointer: sizePointer, length: 4) else {
            return WASIErrno.fault.rawValue
        }
        _ = memory.store(u32: strings.count, at: countPointer)
        _ = memory.store(u32: UInt32(truncatingIfNeeded: strings.bytes.count), at: sizePointer)
        return WASIErrno.success.rawValue
    }

    private func copy(_ strings: FlatStrings, _ vector: UInt32, _ buffer: UInt32) -> WASIErrno.RawValue {
        guard let memory, memory.contains(pointer: vector, count: strings.count, size: 4),
              strings.bytes.count <= Int(UInt32.max), memory.contains(pointer: buffer, length: UInt32(strings.bytes.count)) else {
            return WASIErrno.fault.rawValue
        }
        // Both ranges are inside memory (checked above), so the pointer arithmetic cannot wrap.
        for (index, offset) in strings.offsets.enumerated() {
            _ = memory.store(u32: buffer &+ offset, at: vector &+ UInt32(index) &* 4)
        }
        _ = memory.write(strings.bytes, at: buffer)
        return WASIErrno.success.rawValue
    }

    private func randomGet(_ pointer: UInt32, _ length: UInt32) -> WASIErrno.RawValue {
        guard let memory, memory.contains(pointer: pointer, length: length) else { return WASIErrno.fault.rawValue }
        guard length > 0 else { return WASIErrno.success.rawValue }
        memory.memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: Int(length)) { random.fill($0) }
        return WASIErrno.success.rawValue
    }

    // MARK: - sockets

    /// The worker has no sockets: a file fd is ENOTSOCK, an fd that is not open EBADF. For fds ≥ 3 only
    /// the broker knows which is which.
    private func socket(fd: UInt32) throws -> WASIErrno.RawValue {
        if fd <= 2 { return WASIErrno.notSocket.rawValue }
        let (errno, _) = try broker(.fdFdstatGet, [Int64(fd)])
        return errno == WASIErrno.success.rawValue ? WASIErrno.notSocket.rawValue : errno
    }
}
