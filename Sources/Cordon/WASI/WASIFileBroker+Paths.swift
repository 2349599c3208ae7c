import CCordonShims
import Glibc

// The path_* calls. Each resolves through `BeneathResolution`: the whole path for calls that
// open or stat what it names, the parent directory for calls that act on a name in it.
extension WASIFileBroker {
    func open(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathOpen)
        let lookup = try r.bits(1, as: UInt32.self)
        let oflags = try r.bits(2, as: UInt16.self)
        let base = try r.u64(3), inheriting = try r.u64(4)
        let fdflags = try r.bits(5, as: UInt16.self)
        let pathBytes = try r.blob(0)
        let path = try WASIPath(pathBytes)
        if oflags & ~UInt16(0xF) != 0 || fdflags & ~UInt16(0x1F) != 0 { throw .outcome(.invalid) }
        // What is opened beneath a directory gets at most what that directory hands down.
        if base & ~dir.rightsInheriting != 0 || inheriting & ~dir.rightsInheriting != 0 { throw .deny(.notCapable) }
        if t.isFull { throw .deny(.tooManyOpenFiles) }

        let wantsDirectory = oflags & WASIOpenFlags.directory != 0
        let write = !wantsDirectory && (base & WASIRights.needWrite != 0 || oflags & WASIOpenFlags.truncate != 0)
        let read = wantsDirectory || base & WASIRights.needRead != 0 || !write
        let creates = oflags & (WASIOpenFlags.create | WASIOpenFlags.truncate) != 0
        if dir.readOnly && (write || creates || fdflags & WASIFdFlags.append != 0) { throw .deny(.readOnlyFileSystem) }

        var flags: Int32 = O_NOCTTY | (read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY)
        if wantsDirectory { flags |= O_DIRECTORY }
        if oflags & WASIOpenFlags.create != 0 { flags |= O_CREAT }
        if oflags & WASIOpenFlags.exclusive != 0 { flags |= O_EXCL }
        if oflags & WASIOpenFlags.truncate != 0 { flags |= O_TRUNC }
        if lookup & WASILookupFlags.symlinkFollow == 0 { flags |= O_NOFOLLOW }
        if fdflags & WASIFdFlags.append != 0 { flags |= O_APPEND }
        // Always non-blocking, whatever the guest asked: a FIFO (or a device node) someone placed in the
        // preopen would otherwise block the open until a writer appears, and every later read or write
        // while it is empty or full, holding a thread of the broker's pool, which all plugins share —
        // one tenant stalling the others' file calls. Regular files and directories ignore the flag; a
        // FIFO answers at once (EOF, EAGAIN or ENXIO). The guest's NONBLOCK flag is kept in the table.
        flags |= O_NONBLOCK
        if fdflags & WASIFdFlags.dsync != 0 { flags |= O_DSYNC }
        if fdflags & (WASIFdFlags.sync | WASIFdFlags.rsync) != 0 { flags |= O_SYNC }

        let hostFD = try BeneathResolution.open(path.text, beneath: dir.hostFD, flags: flags,
                                                mode: flags & O_CREAT != 0 ? 0o644 : 0)
        let type: WASIFileType
        do { type = WASILayout.fileType(mode: try WASIFileBroker.stat(hostFD).st_mode) } catch {
            Glibc.close(hostFD)
            throw error
        }
        let typeRights = type == .directory ? WASIRights.directoryBase : WASIRights.fileBase
        let fd = t.insert(WASIOpenFile(hostFD: hostFD, type: type, preopenName: nil, readOnly: dir.readOnly,
                                       rightsBase: base & typeRights, rightsInheriting: inheriting, fdflags: fdflags))
        audit(opened: pathBytes, read: read, write: write)
        // Donation (docs/wasi.md): a regular file opened only for reading, with the right to read, is
        // sent to the worker before the reply, as a duplicate of this open file description (the
        // offset is shared, so the brokered seek, tell and stat stay consistent). The worker cannot ask
        // for it: the decision is made here from what the broker itself opened.
        let donated = flags & O_ACCMODE == O_RDONLY && !creates && type == .regularFile
            && base & WASIRights.fdRead != 0 && donation?.donate(hostFD, guestFD: fd) == true
        var out = [UInt8](repeating: 0, count: 5)
        WASILayout.put(UInt32(fd), into: &out, at: 0)
        out[4] = donated ? 1 : 0
        return .ok(out)
    }

    func createDirectory(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathCreateDirectory)
        let path = try r.path(0)
        try writable(dir)
        let (parent, name) = try BeneathResolution.parent(of: path, beneath: dir.hostFD)
        defer { Glibc.close(parent) }
        if name == "." || name == "./" { throw .outcome(.exist) }
        if mkdirat(parent, name, 0o755) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    /// An `O_PATH` fd for what `path` names, following a final symlink only when asked.
    private func target(_ r: WASIRequest, lookupIndex: Int, _ dir: WASIOpenFile) throws(WASIRefusal) -> Int32 {
        let lookup = try r.bits(lookupIndex, as: UInt32.self)
        let path = try r.path(0)
        let follow = lookup & WASILookupFlags.symlinkFollow != 0
        return try BeneathResolution.open(path.text, beneath: dir.hostFD, flags: CORDON_O_PATH | (follow ? 0 : O_NOFOLLOW))
    }

    func pathFilestatGet(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathFilestatGet)
        let fd = try target(r, lookupIndex: 1, dir)
        defer { Glibc.close(fd) }
        return .ok(WASILayout.filestat(try WASIFileBroker.stat(fd)))
    }

    func pathFilestatSetTimes(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathFilestatSetTimes)
        var times = try WASIFileBroker.timespecs(atim: try r.u64(2), mtim: try r.u64(3), flags: try r.bits(4, as: UInt16.self))
        _ = try r.path(0)
        try writable(dir)
        let fd = try target(r, lookupIndex: 1, dir)
        defer { Glibc.close(fd) }
        if utimensat(fd, "", &times, CORDON_AT_EMPTY_PATH) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    /// `path_link` never follows the source's final symlink (as wasmtime: `SYMLINK_FOLLOW` is
    /// `EINVAL`), because `linkat(AT_SYMLINK_FOLLOW)` would follow it without `RESOLVE_BENEATH`.
    func link(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let from = try directory(try r.fd(0), t, rights: WASIRights.pathLinkSource)
        let lookup = try r.bits(1, as: UInt32.self)
        let to = try directory(try r.fd(2), t, rights: WASIRights.pathLinkTarget)
        let oldPath = try r.path(0), newPath = try r.path(1)
        if lookup & WASILookupFlags.symlinkFollow != 0 { throw .deny(.invalid) }
        try writable(from)
        try writable(to)
        let (oldParent, oldName) = try BeneathResolution.parent(of: oldPath, beneath: from.hostFD)
        defer { Glibc.close(oldParent) }
        let (newParent, newName) = try BeneathResolution.parent(of: newPath, beneath: to.hostFD)
        defer { Glibc.close(newParent) }
        if oldName == "." || oldName == "./" { throw .outcome(.permission) }
        if newName == "." || newName == "./" { throw .outcome(.exist) }
        if linkat(oldParent, oldName, newParent, newName, 0) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    func readlink(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathReadlink)
        let capacity = try r.length(1, limit: min(maxReplyBytes, WASIPath.maxBytes))
        let path = try r.path(0)
        let fd = try BeneathResolution.open(path.text, beneath: dir.hostFD, flags: CORDON_O_PATH | O_NOFOLLOW)
        defer { Glibc.close(fd) }
        if try WASIFileBroker.stat(fd).st_mode & S_IFMT != S_IFLNK { throw .outcome(.invalid) }
        var buffer = [UInt8](repeating: 0, count: WASIPath.maxBytes)
        let n = buffer.withUnsafeMutableBytes { raw in
            readlinkat(fd, "", raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
        if n < 0 { throw WASIFileBroker.failure() }
        return .ok(Array(buffer[..<min(n, capacity)]))
    }

    func remove(_ r: WASIRequest, _ t: inout WASIFileTable, directory isDirectory: Bool) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: isDirectory ? WASIRights.pathRemoveDirectory : WASIRights.pathUnlinkFile)
        let path = try r.path(0)
        try writable(dir)
        let (parent, name) = try BeneathResolution.parent(of: path, beneath: dir.hostFD)
        defer { Glibc.close(parent) }
        if name == "." || name == "./" { throw .outcome(isDirectory ? .invalid : .isDirectory) }
        if unlinkat(parent, name, isDirectory ? AT_REMOVEDIR : 0) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    func rename(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let from = try directory(try r.fd(0), t, rights: WASIRights.pathRenameSource)
        let to = try directory(try r.fd(1), t, rights: WASIRights.pathRenameTarget)
        let oldPath = try r.path(0), newPath = try r.path(1)
        try writable(from)
        try writable(to)
        let (oldParent, oldName) = try BeneathResolution.parent(of: oldPath, beneath: from.hostFD)
        defer { Glibc.close(oldParent) }
        let (newParent, newName) = try BeneathResolution.parent(of: newPath, beneath: to.hostFD)
        defer { Glibc.close(newParent) }
        if oldName == "." || oldName == "./" || newName == "." || newName == "./" { throw .outcome(.invalid) }
        if renameat(oldParent, oldName, newParent, newName) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }

    /// The link's text is refused when it is absolute or climbs out of the directory fd it is
    /// created beneath (counted lexically from where the link sits): following it would be refused
    /// anyway, and the broker does not leave links for host programs that would lead them out.
    func symlink(_ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        let dir = try directory(try r.fd(0), t, rights: WASIRights.pathSymlink)
        let targetBytes = try r.blob(0)
        let newPath = try r.path(1)
        try writable(dir)
        let target = try WASIPath(targetBytes)
        var depth = 0
        for c in newPath.split.parent.split(separator: "/") where c != "." {
            depth += c == ".." ? -1 : 1
        }
        for c in target.text.split(separator: "/") where c != "." {
            depth += c == ".." ? -1 : 1
            if depth < 0 { throw .deny(.notCapable) }
        }
        let (parent, name) = try BeneathResolution.parent(of: newPath, beneath: dir.hostFD)
        defer { Glibc.close(parent) }
        if name == "." || name == "./" { throw .outcome(.exist) }
        if symlinkat(target.text, parent, name) != 0 { throw WASIFileBroker.failure() }
        return .ok()
    }
}
