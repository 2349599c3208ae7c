import Glibc

/// The WASI preview-1 C structures the broker answers with, byte for byte (little-endian), so the
/// worker copies them into guest memory unchanged (docs/wasi.md).
enum WASILayout {
    static let filestatSize = 64
    static let fdstatSize = 24
    static let prestatSize = 8
    static let direntHeaderSize = 24

    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<raw.count { bytes[offset + i] = raw[i] }
        }
    }

    static func fileType(mode: mode_t) -> WASIFileType {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        case S_IFLNK: return .symbolicLink
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        case S_IFSOCK: return .socketStream
        default: return .unknown
        }
    }

    static func fileType(direntType: UInt8) -> WASIFileType? {
        switch Int32(direntType) {
        case Int32(DT_DIR): return .directory
        case Int32(DT_REG): return .regularFile
        case Int32(DT_LNK): return .symbolicLink
        case Int32(DT_CHR): return .characterDevice
        case Int32(DT_BLK): return .blockDevice
        case Int32(DT_SOCK): return .socketStream
        case Int32(DT_FIFO): return .unknown
        default: return nil
        }
    }

    private static func nanoseconds(_ t: timespec) -> UInt64 {
        UInt64(bitPattern: Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec))
    }

    /// `filestat`: dev, ino, filetype (u8, 7 padding), nlink, size, atim, mtim, ctim.
    static func filestat(_ st: stat) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: filestatSize)
        put(UInt64(st.st_dev), into: &b, at: 0)
        put(UInt64(st.st_ino), into: &b, at: 8)
        b[16] = fileType(mode: st.st_mode).rawValue
        put(UInt64(st.st_nlink), into: &b, at: 24)
        put(UInt64(bitPattern: Int64(st.st_size)), into: &b, at: 32)
        put(nanoseconds(st.st_atim), into: &b, at: 40)
        put(nanoseconds(st.st_mtim), into: &b, at: 48)
        put(nanoseconds(st.st_ctim), into: &b, at: 56)
        return b
    }

    /// `fdstat`: filetype (u8, 1 padding), fdflags (u16, 4 padding), rights base, rights inheriting.
    static func fdstat(type: WASIFileType, flags: UInt16, base: UInt64, inheriting: UInt64) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: fdstatSize)
        b[0] = type.rawValue
        put(flags, into: &b, at: 2)
        put(base, into: &b, at: 8)
        put(inheriting, into: &b, at: 16)
        return b
    }

    /// `prestat`: tag 0 (directory), 3 padding, u32 length of the guest path.
    static func prestat(nameLength: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: prestatSize)
        put(UInt32(nameLength), into: &b, at: 4)
        return b
    }

    /// One `dirent` header followed by the name.
    static func dirent(next: UInt64, inode: UInt64, type: WASIFileType, name: [UInt8]) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: direntHeaderSize)
        put(next, into: &b, at: 0)
        put(inode, into: &b, at: 8)
        put(UInt32(name.count), into: &b, at: 16)
        b[20] = type.rawValue
        b.append(contentsOf: name)
        return b
    }
}
