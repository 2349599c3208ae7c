import CCordonShims
#if canImport(Glibc)
import Glibc
#endif

/// The worker's own never-written, file-backed image segments (ELF headers, read-only data, code),
/// whose page-table entries an idle worker drops so that it stops holding the binary's pages.
public enum ImagePages {
    /// Why a release stopped: the program headers could not be found, or `madvise` failed.
    public struct ReleaseError: Error, CustomStringConvertible {
        /// The errno (ENOENT: no `AT_PHDR` or no `PT_PHDR` entry; ENOEXEC: the binary has text relocations).
        public let errno: Int32
        public var description: String { "cannot release the worker's code pages: \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    /// Drops this process's mappings of its executable's read-only `PT_LOAD` segments with
    /// `MADV_DONTNEED` and returns the bytes advised. The page cache keeps the pages; the next access
    /// to each faults it back in.
    public static func release() throws(ReleaseError) -> Int {
        guard let table = UnsafePointer<Elf64_Phdr>(bitPattern: UInt(cordon_getauxval(UInt(AT_PHDR)))) else {
            throw ReleaseError(errno: ENOENT)
        }
        let headers = UnsafeBufferPointer(start: table, count: Int(cordon_getauxval(UInt(AT_PHNUM))))
        guard let selfEntry = headers.first(where: { $0.p_type == UInt32(PT_PHDR) }) else { throw ReleaseError(errno: ENOENT) }
        // A static PIE is loaded at a random base: where the table is, minus where it says it is.
        let bias = UInt(bitPattern: table) &- UInt(selfEntry.p_vaddr)
        // Text relocations would mean the loader wrote into "read-only" pages: those private copies
        // must not be reverted. lld refuses to produce them by default; refuse here too if it ever did.
        if let dynamic = headers.first(where: { $0.p_type == UInt32(PT_DYNAMIC) }),
           let entries = UnsafeRawPointer(bitPattern: bias &+ UInt(dynamic.p_vaddr)) {
            for index in 0..<Int(dynamic.p_memsz) / 16 {
                let tag = entries.load(fromByteOffset: index * 16, as: Int64.self)
                let value = entries.load(fromByteOffset: index * 16 + 8, as: UInt64.self)
                if tag == Int64(DT_NULL) { break }
                if tag == Int64(DT_TEXTREL) || (tag == Int64(DT_FLAGS) && value & UInt64(DF_TEXTREL) != 0) {
                    throw ReleaseError(errno: ENOEXEC)
                }
            }
        }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        var bytes = 0
        for header in headers where header.p_type == UInt32(PT_LOAD) && header.p_flags & UInt32(PF_W) == 0 {
            // Only segments the process can never have written: a writable one (RELRO included)
            // holds relocated data that MADV_DONTNEED would revert to the file's bytes. Whole pages
            // inside the segment only, so a page shared with a neighbour is never touched.
            let start = bias &+ UInt(header.p_vaddr), end = start &+ UInt(header.p_memsz)
            let first = (start &+ page &- 1) & ~(page &- 1), last = end & ~(page &- 1)
            guard last > first else { continue }
            if madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) != 0 {
                throw ReleaseError(errno: errno)
            }
            bytes += Int(last - first)
        }
        return bytes
    }
}
