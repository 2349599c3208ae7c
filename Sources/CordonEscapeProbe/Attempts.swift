import CCordonShims
import CordonJail
import CordonPolicy
import Glibc

/// The escape catalogue. `make` runs the preparation (allocations, syscall-number lookups) before
/// confinement and returns a closure that performs exactly one forbidden operation, answering the raw
/// result: >= 0 on success, -errno on failure.
enum Attempts {
    typealias Attempt = () -> Int

    static let names = [
        "none", "block", "socket", "connect", "open-etc-passwd", "execve", "fork", "clone", "clone3", "ptrace",
        "kill-parent", "setuid0", "mount", "unshare", "bpf", "perf_event_open", "io_uring_setup", "userfaultfd",
        "keyctl", "process_vm_readv", "mmap-exec", "mprotect-exec", "memfd_create", "chdir-open",
        "setrlimit-raise", "capset", "prctl", "ioctl-tiocsti", "reboot", "write-stdout", "futex-requeue",
        "chroot", "open-by-handle", "pidfd_open", "setns", "madvise-mergeable", "madvise-dontneed", "mremap-fixed",
        // File donation (WASIPolicy.donatedFDs, fd 16..<32; the donation socket is fd 6).
        "read-stdin", "read-below-donated", "readv-above-donated", "pread-outside-donated", "fstat-donated",
        "openat-donated", "write-donated", "dup3-outside-donated", "recvmsg-other", "read-donated", "preadv-donated",
        "recvmsg-donation", "dup3-into-donated",
    ]

    /// One raw syscall; glibc's syscall(2) returns -1 and sets errno, folded here into -errno.
    static func sys(_ nr: Int, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0, _ d: Int = 0, _ e: Int = 0, _ f: Int = 0) -> Int {
        let r = cordon_syscall6(nr, a, b, c, d, e, f)
        return r < 0 ? -Int(errno) : r
    }

    /// A process-lifetime allocation (attempt arguments must outlive the closure, never be freed).
    static func buffer(_ bytes: Int) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return p
    }

    static func cString(_ s: String) -> Int {
        let bytes = Array(s.utf8) + [0]
        let p = buffer(bytes.count)
        p.copyMemory(from: bytes, byteCount: bytes.count)
        return Int(bitPattern: p)
    }

    /// `count` iovecs of 64 bytes each, for the vectored reads.
    static func iovecs(_ count: Int) -> Int {
        let v = buffer(16 * count)
        for i in 0..<count {
            v.storeBytes(of: Int(bitPattern: buffer(64)), toByteOffset: 16 * i, as: Int.self)
            v.storeBytes(of: 64, toByteOffset: 16 * i + 8, as: Int.self)
        }
        return Int(bitPattern: v)
    }

    /// In a child created by a successful fork/clone: leave at once (the parent reports the escape).
    static func childExits(_ r: Int) -> Int {
        if r == 0 { _ = cordon_syscall6(Int(SyscallTable.number(of: "exit_group")!), 0, 0, 0, 0, 0, 0) }
        return r
    }

    static func make(_ name: String, plan: ConfinementPlan) -> Attempt? {
        func n(_ s: String) -> Int { Int(SyscallTable.number(of: s)!) }
        let supervisor = Int(plan.supervisorPID)
        switch name {
        case "none":
            return { 0 }
        case "block":
            // Sleeps (FUTEX_WAIT with a timeout, allowed) so a test can inspect /proc/<pid>/status.
            let word = buffer(4)
            let futex = n("futex")
            let ts = buffer(16)
            ts.storeBytes(of: 10, toByteOffset: 0, as: Int.self)
            return { _ = sys(futex, Int(bitPattern: word), 0, 0, Int(bitPattern: ts)); return -Int(ETIMEDOUT) }
        case "socket":
            let s = n("socket")
            return { sys(s, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0) }
        case "connect":
            let c = n("connect")
            let addr = buffer(16)
            addr.storeBytes(of: 2, as: UInt16.self)                                // AF_INET
            addr.storeBytes(of: UInt16(1).bigEndian, toByteOffset: 2, as: UInt16.self)  // port 1
            addr.storeBytes(of: UInt32(0x7F00_0001).bigEndian, toByteOffset: 4, as: UInt32.self)
            return { sys(c, 0, Int(bitPattern: addr), 16) }
        case "open-etc-passwd":
            let o = n("openat"), path = cString("/etc/passwd")
            return { sys(o, -100 /* AT_FDCWD */, path, Int(O_RDONLY)) }
        case "execve":
            let e = n("execve"), path = cString("/bin/sh")
            let argv = buffer(16)
            argv.storeBytes(of: path, as: Int.self)
            let envp = buffer(8)
            return { sys(e, path, Int(bitPattern: argv), Int(bitPattern: envp)) }
        case "fork":
            let f = n("fork")
            return { childExits(sys(f)) }
        case "clone":
            let c = n("clone")
            return { childExits(sys(c, Int(SIGCHLD), 0, 0, 0, 0)) }
        case "clone3":
            let c = n("clone3")
            let cloneArgs = buffer(88)
            cloneArgs.storeBytes(of: UInt64(SIGCHLD), toByteOffset: 32, as: UInt64.self)  // exit_signal
            return { childExits(sys(c, Int(bitPattern: cloneArgs), 88)) }
        case "ptrace":
            let p = n("ptrace")
            return { sys(p, 16 /* PTRACE_ATTACH */, supervisor, 0, 0) }
        case "kill-parent":
            // Signal 0: proves deliverability without harming the supervisor if it ever succeeded.
            let k = n("kill")
            return { sys(k, supervisor, 0) }
        case "setuid0":
            let s = n("setuid")
            return { sys(s, 0) }
        case "mount":
            let m = n("mount"), src = cString("none"), target = cString("/"), type = cString("tmpfs")
            return { sys(m, src, target, type, 0, 0) }
        case "unshare":
            let u = n("unshare")
            return { sys(u, 0x1000_0000 /* CLONE_NEWUSER */) }
        case "bpf":
            let b = n("bpf")
            let attr = buffer(128)
            attr.storeBytes(of: UInt32(2), toByteOffset: 0, as: UInt32.self)   // BPF_MAP_TYPE_ARRAY
            attr.storeBytes(of: UInt32(4), toByteOffset: 4, as: UInt32.self)   // key_size
            attr.storeBytes(of: UInt32(4), toByteOffset: 8, as: UInt32.self)   // value_size
            attr.storeBytes(of: UInt32(1), toByteOffset: 12, as: UInt32.self)  // max_entries
            return { sys(b, 0 /* BPF_MAP_CREATE */, Int(bitPattern: attr), 128) }
        case "perf_event_open":
            let p = n("perf_event_open")
            let attr = buffer(128)
            attr.storeBytes(of: UInt32(1), toByteOffset: 0, as: UInt32.self)    // PERF_TYPE_SOFTWARE
            attr.storeBytes(of: UInt32(128), toByteOffset: 4, as: UInt32.self)  // size
            return { sys(p, Int(bitPattern: attr), 0, -1, -1, 0) }
        case "io_uring_setup":
            let i = n("io_uring_setup")
            let params = buffer(120)
            return { sys(i, 1, Int(bitPattern: params)) }
        case "userfaultfd":
            let u = n("userfaultfd")
            return { sys(u, Int(O_CLOEXEC)) }
        case "keyctl":
            let k = n("keyctl")
            return { sys(k, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session keyring */, 1) }
        case "process_vm_readv":
            let p = n("process_vm_readv")
            let local = buffer(16), remote = buffer(16), data = buffer(8)
            local.storeBytes(of: Int(bitPattern: data), as: Int.self)
            local.storeBytes(of: 8, toByteOffset: 8, as: Int.self)
            remote.storeBytes(of: 0x40_0000, as: Int.self)
            remote.storeBytes(of: 8, toByteOffset: 8, as: Int.self)
            return { sys(p, supervisor, Int(bitPattern: local), 1, Int(bitPattern: remote), 1, 0) }
        case "mmap-exec":
            let m = n("mmap")
            return { sys(m, 0, 4096, Int(PROT_READ | PROT_EXEC), Int(MAP_PRIVATE | MAP_ANONYMOUS), -1, 0) }
        case "mprotect-exec":
            let m = n("mprotect")
            let page = buffer(8192)
            let aligned = (Int(bitPattern: page) + 4095) & ~4095
            return { sys(m, aligned, 4096, Int(PROT_READ | PROT_EXEC)) }
        case "memfd_create":
            let m = n("memfd_create"), name = cString("x")
            return { sys(m, name, 0) }
        case "chdir-open":
            let c = n("chdir"), o = n("openat"), dir = cString("/etc"), file = cString("passwd")
            return {
                let r = sys(c, dir)
                return r < 0 ? r : sys(o, -100, file, Int(O_RDONLY))
            }
        case "setrlimit-raise":
            let s = n("setrlimit")
            let lim = buffer(16)
            lim.storeBytes(of: 65_536, as: Int.self)
            lim.storeBytes(of: 65_536, toByteOffset: 8, as: Int.self)
            return { sys(s, 7 /* RLIMIT_NOFILE */, Int(bitPattern: lim)) }
        case "capset":
            let c = n("capset")
            let header = buffer(8), data = buffer(24)
            header.storeBytes(of: UInt32(0x2008_0522), as: UInt32.self)  // _LINUX_CAPABILITY_VERSION_3
            for i in 0..<6 { data.storeBytes(of: UInt32.max, toByteOffset: 4 * i, as: UInt32.self) }
            return { sys(c, Int(bitPattern: header), Int(bitPattern: data)) }
        case "prctl":
            let p = n("prctl")
            return { sys(p, 4 /* PR_SET_DUMPABLE */, 1) }
        case "ioctl-tiocsti":
            let i = n("ioctl"), ch = cString("x")
            return { sys(i, 0, 0x5412 /* TIOCSTI */, ch) }
        case "reboot":
            // CAD_ON restores the default, so even a successful call would change nothing.
            let r = n("reboot")
            return { sys(r, 0xFEE1_DEAD, 672_274_793, 0x89AB_CDEF) }
        case "write-stdout":
            let w = n("write"), text = cString("x")
            return { sys(w, 1, text, 1) }
        case "futex-requeue":
            let f = n("futex"), word = buffer(8)
            return { sys(f, Int(bitPattern: word), 3 /* FUTEX_REQUEUE */, 1, 1, Int(bitPattern: word) + 4) }
        case "chroot":
            let c = n("chroot"), path = cString("/")
            return { sys(c, path) }
        case "open-by-handle":
            // The "shocker" escape: needs CAP_DAC_READ_SEARCH and a handle; any fd will do for the attempt.
            let o = n("open_by_handle_at")
            let handle = buffer(16)
            handle.storeBytes(of: UInt32(8), as: UInt32.self)
            return { sys(o, -100, Int(bitPattern: handle), Int(O_RDONLY)) }
        case "pidfd_open":
            let p = n("pidfd_open")
            return { sys(p, supervisor, 0) }
        case "setns":
            let s = n("setns")
            return { sys(s, 0, 0) }
        case "madvise-mergeable":
            // KSM would merge this page with an identical one elsewhere; the copy-on-write fault timing
            // then tells another process what its memory holds.
            let m = n("madvise"), page = buffer(8192)
            let aligned = (Int(bitPattern: page) + 4095) & ~4095
            return { sys(m, aligned, 4096, 12 /* MADV_MERGEABLE */) }
        case "madvise-dontneed":
            // Allowed: what malloc trimming and the idle release of code pages use. Succeeds (exit 0).
            let m = n("madvise"), page = buffer(8192)
            let aligned = (Int(bitPattern: page) + 4095) & ~4095
            return { sys(m, aligned, 4096, 4 /* MADV_DONTNEED */) }
        case "mremap-fixed":
            let m = n("mremap"), from = buffer(8192), to = buffer(8192)
            let a = (Int(bitPattern: from) + 4095) & ~4095, b = (Int(bitPattern: to) + 4095) & ~4095
            return { sys(m, a, 4096, 4096, 1 | 2 /* MREMAP_MAYMOVE | MREMAP_FIXED */, b) }
        case "read-stdin":
            let r = n("read"), b = buffer(64)
            return { sys(r, 0, Int(bitPattern: b), 1) }
        case "read-below-donated":
            let r = n("read"), b = buffer(64)
            return { sys(r, 15, Int(bitPattern: b), 1) }
        case "readv-above-donated":
            let r = n("readv"), v = iovecs(1)
            return { sys(r, 32, v, 1) }
        case "pread-outside-donated":
            let r = n("pread64"), b = buffer(64)
            return { sys(r, 3, Int(bitPattern: b), 1, 0) }
        case "fstat-donated":
            let f = n("fstat"), b = buffer(256)
            return { sys(f, 16, Int(bitPattern: b)) }
        case "openat-donated":
            let o = n("openat"), path = cString("x")
            return { sys(o, 16, path, Int(O_RDONLY)) }
        case "write-donated":
            let w = n("write"), text = cString("x")
            return { sys(w, 16, text, 1) }
        case "dup3-outside-donated":
            let d = n("dup3")
            return { sys(d, 0, 8, Int(O_CLOEXEC)) }
        case "recvmsg-other":
            let r = n("recvmsg"), msg = buffer(64)
            return { sys(r, 3, Int(bitPattern: msg), 0x40 /* MSG_DONTWAIT */) }
        // Allowed with donation (the fd is not open in the probe: EBADF, exit 1); denied without.
        case "read-donated":
            let r = n("read"), b = buffer(64)
            return { sys(r, 17, Int(bitPattern: b), 1) }
        case "preadv-donated":
            let r = n("preadv"), v = iovecs(1)
            return { sys(r, 31, v, 1, 0) }
        case "recvmsg-donation":
            let r = n("recvmsg"), msg = buffer(64)
            return { sys(r, 6, Int(bitPattern: msg), 0x40 /* MSG_DONTWAIT */) }
        case "dup3-into-donated":
            let d = n("dup3")
            return { sys(d, 0, 16, Int(O_CLOEXEC)) }
        default:
            return nil
        }
    }
}
