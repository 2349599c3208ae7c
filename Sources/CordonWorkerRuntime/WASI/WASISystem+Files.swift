// The fd_* and path_* functions. Fds 0–2 are the worker's own (stdin = the call's input, stdout and
// stderr buffered per call); every other fd is the supervisor's and each call on it is one host call
// `wasi.<name>` with the integers and blobs of docs/wasi.md. Guest pointers are checked before the
// host call, so a bad result pointer never leaves a side effect behind (an opened file, a write).
// The exception to "every call is a host call": reads of a file the broker donated (DonatedFiles).
import CordonChannel
import Glibc

extension WASISystem {
    typealias Errno = WASIErrno.RawValue
    private static var fault: Errno { WASIErrno.fault.rawValue }
    private static var success: Errno { WASIErrno.success.rawValue }

    func fileCall(_ function: WASIFunction, _ a: WASIArguments) throws -> Errno {
        switch function {
        case .fdWrite: return try write(fd: a.u32(0), vectors: a.u32(1), count: a.u32(2), result: a.u32(3), offset: nil)
        case .fdPwrite: return try write(fd: a.u32(0), vectors: a.u32(1), count: a.u32(2), result: a.u32(4), offset: a.integer(3))
        case .fdRead: return try read(fd: a.u32(0), vectors: a.u32(1), count: a.u32(2), result: a.u32(3), offset: nil)
        case .fdPread: return try read(fd: a.u32(0), vectors: a.u32(1), count: a.u32(2), result: a.u32(4), offset: a.integer(3))
        case .fdFdstatGet:
            let fd = a.u32(0)
            guard fd > 2 else { return stdioFdstat(fd, at: a.u32(1)) }
            return try brokerFixed(.fdFdstatGet, [a.integer(0)], size: WASILayout.fdstatSize, at: a.u32(1))
        case .fdFilestatGet:
            let fd = a.u32(0)
            guard fd > 2 else { return stdioFilestat(at: a.u32(1)) }
            return try brokerFixed(.fdFilestatGet, [a.integer(0)], size: WASILayout.filestatSize, at: a.u32(1))
        case .fdPrestatGet:
            let fd = a.u32(0)
            guard fd > 2, fd - 3 < preopenCount else { return WASIErrno.badFileDescriptor.rawValue }
            return try brokerFixed(.fdPrestatGet, [a.integer(0)], size: WASILayout.prestatSize, at: a.u32(1))
        case .fdPrestatDirName:
            guard a.u32(0) > 2 else { return WASIErrno.badFileDescriptor.rawValue }
            guard let memory, memory.contains(pointer: a.u32(1), length: a.u32(2)) else { return Self.fault }
            let (errno, data) = try broker(.fdPrestatDirName, [a.integer(0)])
            guard errno == Self.success else { return errno }
            guard data.count <= Int(a.u32(2)) else { return WASIErrno.nameTooLong.rawValue }
            _ = memory.write(data, at: a.u32(1))
            return Self.success
        case .fdSeek:
            guard a.u32(0) > 2 else { return WASIErrno.invalidSeek.rawValue }
            return try brokerFixed(.fdSeek, [a.integer(0), a.integer(1), a.integer(2)], size: 8, at: a.u32(3))
        case .fdTell:
            guard a.u32(0) > 2 else { return WASIErrno.invalidSeek.rawValue }
            return try brokerFixed(.fdTell, [a.integer(0)], size: 8, at: a.u32(1))
        case .fdReaddir:
            guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
            return try readInto(.fdReaddir, fd: a.integer(0), buffer: a.u32(1), length: a.u32(2), extra: [a.integer(3)],
                                blobs: [], result: a.u32(4))
        case .fdClose:
            // Closing stdio is allowed and changes nothing: the streams belong to the call.
            guard a.u32(0) > 2 else { return Self.success }
            // The worker's copy goes first: whatever the broker answers, the guest fd is no longer
            // one this worker reads on its own.
            donated.close(a.u32(0))
            return try brokerStatus(.fdClose, [a.integer(0)])
        case .fdAdvise:
            guard a.u32(0) > 2 else { return WASIErrno.invalidSeek.rawValue }
            return try brokerStatus(.fdAdvise, [a.integer(0), a.integer(1), a.integer(2), a.integer(3)])
        case .fdAllocate:
            guard a.u32(0) > 2 else { return WASIErrno.invalidSeek.rawValue }
            return try brokerStatus(.fdAllocate, [a.integer(0), a.integer(1), a.integer(2)])
        case .fdDatasync, .fdSync:
            guard a.u32(0) > 2 else { return WASIErrno.invalid.rawValue }
            return try brokerStatus(function == .fdSync ? .fdSync : .fdDatasync, [a.integer(0)])
        case .fdFdstatSetFlags:
            guard a.u32(0) > 2 else { return WASIErrno.notSupported.rawValue }
            return try brokerStatus(.fdFdstatSetFlags, [a.integer(0), a.integer(1)])
        case .fdFdstatSetRights:
            guard a.u32(0) > 2 else { return WASIErrno.notSupported.rawValue }
            let errno = try brokerStatus(.fdFdstatSetRights, [a.integer(0), a.integer(1), a.integer(2)])
            // Rights only shrink: from now on the broker checks every read of this fd again.
            if errno == Self.success { donated.close(a.u32(0)) }
            return errno
        case .fdFilestatSetSize:
            guard a.u32(0) > 2 else { return WASIErrno.invalid.rawValue }
            return try brokerStatus(.fdFilestatSetSize, [a.integer(0), a.integer(1)])
        case .fdFilestatSetTimes:
            guard a.u32(0) > 2 else { return WASIErrno.notSupported.rawValue }
            return try brokerStatus(.fdFilestatSetTimes, [a.integer(0), a.integer(1), a.integer(2), a.integer(3)])
        case .fdRenumber:
            // The worker's stdio and the supervisor's fds cannot trade places.
            guard a.u32(0) > 2, a.u32(1) > 2 else { return WASIErrno.notSupported.rawValue }
            let errno = try brokerStatus(.fdRenumber, [a.integer(0), a.integer(1)])
            if errno == Self.success { donated.renumber(from: a.u32(0), to: a.u32(1)) }
            return errno
        case .pathCreateDirectory: return try pathStatus(.pathCreateDirectory, a)
        case .pathRemoveDirectory: return try pathStatus(.pathRemoveDirectory, a)
        case .pathUnlinkFile: return try pathStatus(.pathUnlinkFile, a)
        case .pathFilestatGet:
            guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard memory?.contains(pointer: a.u32(4), length: WASILayout.filestatSize) == true else { return Self.fault }
            guard let path = try path(a.u32(2), a.u32(3)) else { return pathError(a.u32(2), a.u32(3)) }
            return try brokerFixed(.pathFilestatGet, [a.integer(0), a.integer(1)], [path], size: WASILayout.filestatSize, at: a.u32(4))
        case .pathFilestatSetTimes:
            guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard let path = try path(a.u32(2), a.u32(3)) else { return pathError(a.u32(2), a.u32(3)) }
            return try brokerStatus(.pathFilestatSetTimes, [a.integer(0), a.integer(1), a.integer(4), a.integer(5), a.integer(6)], [path])
        case .pathLink:
            guard a.u32(0) > 2, a.u32(4) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard let old = try path(a.u32(2), a.u32(3)) else { return pathError(a.u32(2), a.u32(3)) }
            guard let new = try path(a.u32(5), a.u32(6)) else { return pathError(a.u32(5), a.u32(6)) }
            guard old.count + new.count <= brokerChunk else { return WASIErrno.nameTooLong.rawValue }
            return try brokerStatus(.pathLink, [a.integer(0), a.integer(1), a.integer(4)], [old, new])
        case .pathOpen:
            guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard memory?.contains(pointer: a.u32(8), length: 4) == true else { return Self.fault }
            guard let path = try path(a.u32(2), a.u32(3)) else { return pathError(a.u32(2), a.u32(3)) }
            return try open(integers: [a.integer(0), a.integer(1), a.integer(4), a.integer(5), a.integer(6), a.integer(7)],
                            path: path, result: a.u32(8))
        case .pathReadlink:
            guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard let path = try path(a.u32(1), a.u32(2)) else { return pathError(a.u32(1), a.u32(2)) }
            return try readInto(.pathReadlink, fd: a.integer(0), buffer: a.u32(3), length: a.u32(4), extra: [], blobs: [path],
                                result: a.u32(5))
        case .pathRename:
            guard a.u32(0) > 2, a.u32(3) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard let old = try path(a.u32(1), a.u32(2)) else { return pathError(a.u32(1), a.u32(2)) }
            guard let new = try path(a.u32(4), a.u32(5)) else { return pathError(a.u32(4), a.u32(5)) }
            guard old.count + new.count <= brokerChunk else { return WASIErrno.nameTooLong.rawValue }
            return try brokerStatus(.pathRename, [a.integer(0), a.integer(3)], [old, new])
        case .pathSymlink:
            guard a.u32(2) > 2 else { return WASIErrno.notDirectory.rawValue }
            guard let old = try path(a.u32(0), a.u32(1)) else { return pathError(a.u32(0), a.u32(1)) }
            guard let new = try path(a.u32(3), a.u32(4)) else { return pathError(a.u32(3), a.u32(4)) }
            guard old.count + new.count <= brokerChunk else { return WASIErrno.nameTooLong.rawValue }
            return try brokerStatus(.pathSymlink, [a.integer(2)], [old, new])
        default:
            // Every other function is dispatched in WASISystem.invoke.
            return WASIErrno.noSys.rawValue
        }
    }

    // MARK: - Paths

    /// The path bytes at (pointer, length), or nil when out of bounds or too long for one host call.
    private func path(_ pointer: UInt32, _ length: UInt32) throws -> [UInt8]? {
        guard Int(length) <= brokerChunk, let memory else { return nil }
        return memory.read(pointer: pointer, length: length)
    }

    private func pathError(_ pointer: UInt32, _ length: UInt32) -> Errno {
        guard let memory, memory.contains(pointer: pointer, length: length) else { return Self.fault }
        return WASIErrno.nameTooLong.rawValue
    }

    // MARK: - stdio

    private func stdioFdstat(_ fd: UInt32, at pointer: UInt32) -> Errno {
        var bytes = [UInt8](repeating: 0, count: Int(WASILayout.fdstatSize))
        bytes[0] = WASILayout.filetypeCharacterDevice
        // No seek or tell rights: wasi-libc then treats the stream as a terminal-like device.
        let rights = (fd == 0 ? WASILayout.rightFdRead : WASILayout.rightFdWrite) | WASILayout.rightPollFdReadwrite
        withUnsafeBytes(of: rights.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        return memory?.write(bytes, at: pointer) == true ? Self.success : Self.fault
    }

    private func stdioFilestat(at pointer: UInt32) -> Errno {
        var bytes = [UInt8](repeating: 0, count: Int(WASILayout.filestatSize))
        bytes[16] = WASILayout.filetypeCharacterDevice
        return memory?.write(bytes, at: pointer) == true ? Self.success : Self.fault
    }

    // MARK: - Opening

    /// `path_open`: the reply is the new guest fd (u32) and a donated flag (u8, 0 or 1; docs/wasi.md).
    /// A donated file is taken from the donation socket at once; if that fails, the fd is still open
    /// in the broker and its reads are brokered.
    private func open(integers: [Int64], path: [UInt8], result: UInt32) throws -> Errno {
        guard let memory, memory.contains(pointer: result, length: 4) else { return Self.fault }
        let (errno, data) = try broker(.pathOpen, integers, [path])
        guard errno == Self.success else { return errno }
        guard data.count == 5, data[4] <= 1, let fd = Self.u32(Array(data[0..<4])), fd > 2 else { return WASIErrno.io.rawValue }
        // A reused number: whatever the worker still held for it belongs to a closed file.
        donated.close(fd)
        if data[4] == 1 { _ = donated.receive(guestFD: fd) }
        _ = memory.store(u32: fd, at: result)
        return Self.success
    }

    // MARK: - Reads and writes

    private func write(fd: UInt32, vectors pointer: UInt32, count: UInt32, result: UInt32, offset: Int64?) throws -> Errno {
        guard let memory, memory.contains(pointer: result, length: 4),
              let vectors = memory.ioVectors(at: pointer, count: count) else { return Self.fault }
        if fd <= 2 {
            guard offset == nil else { return WASIErrno.invalidSeek.rawValue }
            guard fd != 0 else { return WASIErrno.badFileDescriptor.rawValue }
            let total = vectors.reduce(UInt64(0)) { $0 + UInt64($1.length) }
            guard total <= UInt64(UInt32.max) else { return WASIErrno.invalid.rawValue }
            let gather = { (pending: inout [UInt8], kept: Int) in pending += memory.gather(vectors, limit: kept) }
            if fd == 1 { stdout.append(length: Int(total), copy: gather) } else { stderr.append(length: Int(total), copy: gather) }
            try flush(all: false)
            _ = memory.store(u32: UInt32(total), at: result)
            return Self.success
        }
        // One request carries at most one chunk; a short count is what POSIX and WASI allow.
        let data = memory.gather(vectors, limit: brokerChunk)
        let function: WASIBrokeredFunction = offset == nil ? .fdWrite : .fdPwrite
        let integers = offset.map { [Int64(fd), $0] } ?? [Int64(fd)]
        let (errno, reply) = try broker(function, integers, [data])
        guard errno == Self.success else { return errno }
        guard let written = Self.u32(reply), written <= data.count else { return WASIErrno.io.rawValue }
        _ = memory.store(u32: written, at: result)
        return Self.success
    }

    private func read(fd: UInt32, vectors pointer: UInt32, count: UInt32, result: UInt32, offset: Int64?) throws -> Errno {
        guard let memory, memory.contains(pointer: result, length: 4),
              let vectors = memory.ioVectors(at: pointer, count: count) else { return Self.fault }
        let capacity = vectors.reduce(0) { $0 + Int($1.length) }
        if fd <= 2 {
            guard offset == nil else { return WASIErrno.invalidSeek.rawValue }
            guard fd == 0 else { return WASIErrno.badFileDescriptor.rawValue }
            let copied = memory.scatter(stdin.take(capacity), into: vectors)
            _ = memory.store(u32: UInt32(copied), at: result)
            return Self.success
        }
        if let hostFD = donated.hostFD(fd) {
            return read(donated: hostFD, memory: memory, vectors: vectors, result: result, offset: offset)
        }
        let asked = min(capacity, brokerChunk)
        let function: WASIBrokeredFunction = offset == nil ? .fdRead : .fdPread
        let integers = offset.map { [Int64(fd), Int64(asked), $0] } ?? [Int64(fd), Int64(asked)]
        let (errno, data) = try broker(function, integers)
        guard errno == Self.success else { return errno }
        guard data.count <= asked else { return WASIErrno.io.rawValue }
        let copied = memory.scatter(data[...], into: vectors)
        _ = memory.store(u32: UInt32(copied), at: result)
        return Self.success
    }

    /// One `readv`/`preadv` of a donated file straight into the guest's buffers (each already checked
    /// to lie inside memory): one copy, as in-process WASI. At most `IOV_MAX` buffers and 1 GiB per
    /// call, so the count fits the guest's u32; a short read is what POSIX and WASI allow. Errors
    /// are WASI errnos, never a trap.
    private func read(donated hostFD: Int32, memory: GuestMemory, vectors: [IOVector], result: UInt32, offset: Int64?) -> Errno {
        if let offset, offset < 0 { return WASIErrno.invalid.rawValue }
        var iovecs: [iovec] = []
        var total = 0
        let byteCount = memory.memory.byteCount
        guard byteCount > 0 else {
            _ = memory.store(u32: 0, at: result)
            return Self.success
        }
        let n: Int = memory.memory.withUnsafeMutableBufferPointer(offset: 0, count: byteCount) { guest in
            for vector in vectors where vector.length > 0 && iovecs.count < Self.maxVectors && total < Self.maxDirectRead {
                let length = min(Int(vector.length), Self.maxDirectRead - total)
                iovecs.append(iovec(iov_base: guest.baseAddress! + Int(vector.pointer), iov_len: length))
                total += length
            }
            if iovecs.isEmpty { return 0 }
            while true {
                let n = iovecs.withUnsafeBufferPointer { v in
                    offset.map { Glibc.preadv(hostFD, v.baseAddress, Int32(v.count), off_t($0)) } ?? Glibc.readv(hostFD, v.baseAddress, Int32(v.count))
                }
                if n < 0 && errno == EINTR { continue }
                return n < 0 ? -Int(errno) : n
            }
        }
        if n < 0 { return WASIErrno.code(forReadErrno: Int32(-n)) }
        guard n <= total else { return WASIErrno.io.rawValue }
        _ = memory.store(u32: UInt32(n), at: result)
        return Self.success
    }

    private static let maxDirectRead = 1 << 30
    /// IOV_MAX (Linux's UIO_MAXIOV, which Swift's Glibc does not import).
    private static let maxVectors = 1024

    /// A brokered call whose reply is up to `length` bytes for the guest buffer at `buffer`, with the
    /// count stored at `result` (fd_readdir, path_readlink).
    private func readInto(_ function: WASIBrokeredFunction, fd: Int64, buffer: UInt32, length: UInt32, extra: [Int64],
                          blobs: [[UInt8]], result: UInt32) throws -> Errno {
        guard let memory, memory.contains(pointer: buffer, length: length), memory.contains(pointer: result, length: 4) else {
            return Self.fault
        }
        let asked = min(Int(length), brokerChunk)
        let (errno, data) = try broker(function, [fd, Int64(asked)] + extra, blobs)
        guard errno == Self.success else { return errno }
        guard data.count <= asked else { return WASIErrno.io.rawValue }
        _ = memory.write(data, at: buffer)
        _ = memory.store(u32: UInt32(data.count), at: result)
        return Self.success
    }

    // MARK: - Broker

    /// One host call `wasi.<name>`; returns the WASI errno for its status and, on success, its data.
    func broker(_ function: WASIBrokeredFunction, _ integers: [Int64], _ blobs: [[UInt8]] = []) throws -> (Errno, [UInt8]) {
        let reply = try context.forward(function.rawValue, integers: integers, blobs: blobs)
        return (WASIErrno.code(forBrokerStatus: reply.status), reply.data)
    }

    /// A path call on a directory fd whose only argument besides the fd is the path.
    private func pathStatus(_ function: WASIBrokeredFunction, _ a: WASIArguments) throws -> Errno {
        guard a.u32(0) > 2 else { return WASIErrno.notDirectory.rawValue }
        guard let path = try path(a.u32(1), a.u32(2)) else { return pathError(a.u32(1), a.u32(2)) }
        return try brokerStatus(function, [a.integer(0)], [path])
    }

    private func brokerStatus(_ function: WASIBrokeredFunction, _ integers: [Int64], _ blobs: [[UInt8]] = []) throws -> Errno {
        try broker(function, integers, blobs).0
    }

    /// A brokered call whose success data is a fixed-size structure copied to `pointer` unchanged
    /// (fdstat, filestat, prestat, a u32 fd, a u64 offset); data of another size is EIO.
    private func brokerFixed(_ function: WASIBrokeredFunction, _ integers: [Int64], _ blobs: [[UInt8]] = [],
                             size: UInt32, at pointer: UInt32) throws -> Errno {
        guard let memory, memory.contains(pointer: pointer, length: size) else { return Self.fault }
        let (errno, data) = try broker(function, integers, blobs)
        guard errno == Self.success else { return errno }
        guard data.count == Int(size) else { return WASIErrno.io.rawValue }
        _ = memory.write(data, at: pointer)
        return Self.success
    }

    private static func u32(_ data: [UInt8]) -> UInt32? {
        guard data.count == 4 else { return nil }
        return UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
    }
}
