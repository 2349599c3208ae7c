import CCordonShims
import Glibc

/// Path resolution done by the kernel, never by string manipulation: `openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` refuses `..` above the directory fd, absolute paths,
/// absolute symlinks, symlinks that lead out and `/proc` magic links, atomically with the lookup
/// (no check-then-use race with a guest or host renaming directories meanwhile).
enum BeneathResolution {
    static let resolve = CORDON_RESOLVE_BENEATH | CORDON_RESOLVE_NO_MAGICLINKS

    /// Opens `path` beneath `directory`. `EXDEV` (the kernel's "would leave the directory") becomes
    /// a denied `NOTCAPABLE`; other errors are ordinary outcomes.
    static func open(_ path: String, beneath directory: Int32, flags: Int32, mode: mode_t = 0) throws(WASIRefusal) -> Int32 {
        let fd = cordon_openat2(directory, path, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolve)
        if fd >= 0 { return fd }
        let e = errno
        if e == EXDEV { throw .deny(.notCapable) }
        throw .outcome(WASIErrno(hostErrno: e))
    }

    /// An `O_PATH` fd for the directory that holds `path`'s last component, and that component.
    /// A last component of `..` is refused: it names the parent's parent, which this lookup never
    /// resolved beneath `directory`.
    static func parent(of path: WASIPath, beneath directory: Int32) throws(WASIRefusal) -> (fd: Int32, name: String) {
        let (parent, last, trailingSlash) = path.split
        if last == ".." { throw .deny(.notCapable) }
        let fd = try open(parent, beneath: directory, flags: CORDON_O_PATH | O_DIRECTORY)
        // A trailing slash goes back on so the kernel applies its own rule ("must be a directory");
        // none of the *at calls the broker makes on it follows a final symlink.
        return (fd, trailingSlash ? last + "/" : last)
    }
}
