import CCordonShims
import Glibc

// The fd_* calls on fds ≥ 3. The offset of a file is the kernel's (the host fd's), so reads,
// writes, seeks and O_APPEND behave exactly as POSIX says.
extension WASIFileBroker {
    static let utimeNow = (1 << 30) - 1
    static let utimeOmit = (1 << 30) - 2

    func advise(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdAdvise)
        let offset = try r.offset(1), length = try r.offset(2)
        // WASI numbers sequential 1 and random 2; POSIX the other way round.
        let advice: Int32
        switch try r.bits(3, as: UInt8.self) {
        case 0: advice = POSIX_FADV_NORMAL
        case 1: advice = POSIX_FADV_SEQUENTIAL
        case 2: advice = POSIX_FADV_RANDOM
        case 3: advice = POSIX_FADV_WILLNEED
        case 4: advice = POSIX_FADV_DONTNEED
        case 5: advice = POSIX_FADV_NOREUSE
        default: throw .outcome(.invalid)
        }
        if f.isDirectory { throw .outcome(.badFileDescriptor) }
        let rc = posix_fadvise(f.hostFD, off_t(offset), off_t(length), advice)
        if rc != 0 { throw WASIFileBroker.failure(rc) }
        return .ok()
    }

    func allocate(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdAllocate)
        try writable(f)
        let offset = try r.offset(1), length = try r.offset(2)
        if UInt64(length) > policy.maxWriteBytesPerCall {
            audit(writeLimit: Int(clamping: length))
            throw .deny(.fileTooBig)
        }
        let rc = posix_fallocate(f.hostFD, off_t(offset), off_t(length))
        if rc != 0 { throw WASIFileBroker.failure(rc) }
        return .ok()
    }

    func closeFD(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        guard let f = t.remove(try r.fd(0)) else { throw .outcome(.badFileDescriptor) }
        Glibc.close(f.hostFD)
        return .ok()
    }

    func sync(_ r: WASIRequest, _ t: inout WASIFileTable, dataOnly: Bool) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: dataOnly ? WASIRights.fdDatasync : WASIRights.fdSync)
        if (dataOnly ? fdatasync(f.hostFD) : fsync(f.hostFD)) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    func fdstatGet(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        guard let f = t[try r.fd(0)] else { throw .outcome(.badFileDescriptor) }
        return .ok(WASILayout.fdstat(type: f.type, flags: f.fdflags, base: f.rightsBase, inheriting: f.rightsInheriting))
    }

    /// APPEND changes with `F_SETFL`, NONBLOCK only in the table; Linux cannot change the sync flags
    /// of an open file, so asking to is `ENOTSUP` rather than a silent no-op.
    func fdstatSetFlags(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let fd = try r.fd(0)
        var f = try file(fd, t, rights: WASIRights.fdFdstatSetFlags)
        let flags = try r.bits(1, as: UInt16.self)
        let syncBits = WASIFdFlags.dsync | WASIFdFlags.rsync | WASIFdFlags.sync
        if flags & ~(WASIFdFlags.append | WASIFdFlags.nonblock | syncBits) != 0 { throw .outcome(.invalid) }
        if flags & syncBits != f.fdflags & syncBits { throw .outcome(.notSupported) }
        if flags & WASIFdFlags.append != 0 && f.fdflags & WASIFdFlags.append == 0 { try writable(f) }
        if f.preopenName == nil {
            let current = fcntl(f.hostFD, F_GETFL)
            if current < 0 { throw WASIFileBroker.failure() }
            // O_NONBLOCK stays set whatever the guest asks (see pathOpen); its NONBLOCK flag is kept
            // in the table, for fd_fdstat_get.
            var next = (current & ~O_APPEND) | O_NONBLOCK
            if flags & WASIFdFlags.append != 0 { next |= O_APPEND }
            if fcntl(f.hostFD, F_SETFL, next) != 0 { throw WASIFileBroker.failure() }
        }
        f.fdflags = flags
        t[fd] = f
        return .ok()
    }

    /// Rights only shrink.
    func fdstatSetRights(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let fd = try r.fd(0)
        guard var f = t[fd] else { throw .outcome(.badFileDescriptor) }
        let base = try r.u64(1), inheriting = try r.u64(2)
        if base & ~f.rightsBase != 0 || inheriting & ~f.rightsInheriting != 0 { throw .deny(.notCapable) }
        f.rightsBase = base
        f.rightsInheriting = inheriting
        t[fd] = f
        return .ok()
    }

    func filestatGet(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdFilestatGet)
        return .ok(WASILayout.filestat(try WASIFileBroker.stat(f.hostFD)))
    }

    /// `fstat` of any fd, `O_PATH` included.
    static func stat(_ fd: Int32) throws(WASIRefusal) -> Glibc.stat {
        var st = Glibc.stat()
        if fstatat(fd, "", &st, CORDON_AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 { throw failure() }
        return st
    }

    func filestatSetSize(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdFilestatSetSize)
        try writable(f)
        let size = try r.offset(1)
        if ftruncate(f.hostFD, off_t(size)) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    func filestatSetTimes(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdFilestatSetTimes)
        try writable(f)
        var times = try WASIFileBroker.timespecs(atim: try r.u64(1), mtim: try r.u64(2), flags: try r.bits(3, as: UInt16.self))
        if utimensat(f.hostFD, "", &times, CORDON_AT_EMPTY_PATH) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    /// `fst_flags` → the two timespecs of `utimensat`: a value, now, or unchanged; a time and
    /// "now" for the same stamp is `EINVAL`.
    static func timespecs(atim: UInt64, mtim: UInt64, flags: UInt16) throws(WASIRefusal) -> [timespec] {
        func one(_ value: UInt64, set: UInt16, now: UInt16) throws(WASIRefusal) -> timespec {
            if flags & set != 0 && flags & now != 0 { throw .outcome(.invalid) }
            if flags & now != 0 { return timespec(tv_sec: 0, tv_nsec: utimeNow) }
            if flags & set == 0 { return timespec(tv_sec: 0, tv_nsec: utimeOmit) }
            return timespec(tv_sec: Int(value / 1_000_000_000), tv_nsec: Int(value % 1_000_000_000))
        }
        if flags & ~UInt16(0xF) != 0 { throw .outcome(.invalid) }
        return [try one(atim, set: WASITimeFlags.atim, now: WASITimeFlags.atimNow),
                try one(mtim, set: WASITimeFlags.mtim, now: WASITimeFlags.mtimNow)]
    }

    /// What an `fd_read` / `fd_pread` reads: the file (rights and kind checked), how many bytes (bounded
    /// by the reply) and where (-1: at the file position). Shared by this path and the reactor's
    /// non-blocking one, so both refuse exactly the same requests.
    func readTarget(_ r: WASIRequest, _ t: WASIFileTable, positioned: Bool) throws(WASIRefusal) -> (file: WASIOpenFile, count: Int, offset: Int64) {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdRead | (positioned ? WASIRights.fdSeek : 0))
        if f.isDirectory { throw .outcome(.isDirectory) }
        let count = try r.length(1, limit: maxReplyBytes)
        return (f, count, positioned ? try r.offset(2) : -1)
    }

    func read(_ r: WASIRequest, _ t: inout WASIFileTable, positioned: Bool) throws(WASIRefusal) -> WASIReply {
        let (f, count, offset) = try readTarget(r, t, positioned: positioned)
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { raw in
            positioned ? pread(f.hostFD, raw.baseAddress, raw.count, off_t(offset)) : Glibc.read(f.hostFD, raw.baseAddress, raw.count)
        }
        if n < 0 { throw WASIFileBroker.failure() }
        buffer.removeSubrange(n...)
        return .ok(buffer)
    }

    func write(_ r: WASIRequest, _ t: inout WASIFileTable, positioned: Bool) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdWrite | (positioned ? WASIRights.fdSeek : 0))
        try writable(f)
        if f.isDirectory { throw .outcome(.badFileDescriptor) }
        let offset = positioned ? try r.offset(1) : 0
        let data = try r.blob(0)
        if UInt64(data.count) > policy.maxWriteBytesPerCall {
            audit(writeLimit: data.count)
            throw .deny(.fileTooBig)
        }
        let n = data.withUnsafeBytes { raw in
            positioned ? pwrite(f.hostFD, raw.baseAddress, raw.count, off_t(offset)) : Glibc.write(f.hostFD, raw.baseAddress, raw.count)
        }
        if n < 0 { throw WASIFileBroker.failure() }
        var out = [UInt8](repeating: 0, count: 4)
        WASILayout.put(UInt32(n), into: &out, at: 0)
        return .ok(out)
    }

    func prestatGet(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        guard let name = t[try r.fd(0)]?.preopenName else { throw .outcome(.badFileDescriptor) }
        return .ok(WASILayout.prestat(nameLength: name.utf8.count))
    }

    func prestatDirName(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        guard let name = t[try r.fd(0)]?.preopenName else { throw .outcome(.badFileDescriptor) }
        return .ok(Array(name.utf8))
    }

    /// `fd_renumber(from, to)`: `to` is closed and `from` takes its number. Renumbering onto a
    /// preopen replaces that capability with `from`'s (its paths then resolve beneath `from`).
    func renumber(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let from = try r.fd(0), to = try r.fd(1)
        guard t[from] != nil, t[to] != nil else { throw .outcome(.badFileDescriptor) }
        if from == to { return .ok() }
        let moving = t.remove(from)!
        if let old = t.remove(to) { Glibc.close(old.hostFD) }
        t[to] = moving
        return .ok()
    }

    func seek(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let fd = try r.fd(0)
        let offset = try r.int(1)
        let whence: Int32
        switch try r.bits(2, as: UInt8.self) {
        case 0: whence = SEEK_SET
        case 1: whence = SEEK_CUR
        case 2: whence = SEEK_END
        default: throw .outcome(.invalid)
        }
        // A query of the position needs only `fd_tell`.
        let rights = (offset == 0 && whence == SEEK_CUR) ? WASIRights.fdTell : WASIRights.fdSeek
        let f = try file(fd, t, rights: rights)
        if f.isDirectory { throw .outcome(.badFileDescriptor) }
        let n = lseek(f.hostFD, off_t(offset), whence)
        if n < 0 { throw WASIFileBroker.failure() }
        var out = [UInt8](repeating: 0, count: 8)
        WASILayout.put(UInt64(n), into: &out, at: 0)
        return .ok(out)
    }

    func tell(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try file(try r.fd(0), t, rights: WASIRights.fdTell)
        if f.isDirectory { throw .outcome(.badFileDescriptor) }
        let n = lseek(f.hostFD, 0, SEEK_CUR)
        if n < 0 { throw WASIFileBroker.failure() }
        var out = [UInt8](repeating: 0, count: 8)
        WASILayout.put(UInt64(n), into: &out, at: 0)
        return .ok(out)
    }

    /// Entries as `fd_readdir` wants them. The cookie is the kernel's own directory position
    /// (`telldir`, i.e. `d_off`), so it stays valid across calls and across entries added or removed
    /// meanwhile; each call reads through a fresh fd so no directory stream is kept between calls.
    func readdir(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let f = try directory(try r.fd(0), t, rights: WASIRights.fdReaddir)
        let capacity = try r.length(1, limit: maxReplyBytes)
        let cookie = try r.u64(2)
        if cookie > UInt64(Int64.max) { throw .outcome(.invalid) }
        let fd = openat(f.hostFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw WASIFileBroker.failure() }
        guard let stream = fdopendir(fd) else {
            let e = errno
            Glibc.close(fd)
            throw WASIFileBroker.failure(e)
        }
        defer { closedir(stream) }
        if cookie != 0 { seekdir(stream, Int(cookie)) }
        var out: [UInt8] = []
        while out.count < capacity {
            errno = 0
            guard let entry = Glibc.readdir(stream) else {
                if errno != 0 { throw WASIFileBroker.failure() }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            let next = UInt64(bitPattern: Int64(telldir(stream)))
            var type = WASILayout.fileType(direntType: entry.pointee.d_type)
            if type == nil {
                var st = Glibc.stat()
                let cName = name.map { CChar(bitPattern: $0) } + [0]
                type = fstatat(fd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 ? WASILayout.fileType(mode: st.st_mode) : .unknown
            }
            out.append(contentsOf: WASILayout.dirent(next: next, inode: UInt64(entry.pointee.d_ino), type: type ?? .unknown, name: name))
        }
        // The last entry is cut at the buffer's end; wasi-libc sees bufused == buf_len and asks again.
        if out.count > capacity { out.removeSubrange(capacity...) }
        return .ok(out)
    }
}
