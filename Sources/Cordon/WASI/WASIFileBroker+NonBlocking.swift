import CCordonShims
import Glibc

// The calls the reactor may serve itself. A brokered call normally hops to `wasiPool` because a file
// operation can block (a cold disk, a FIFO, a network file system), and a blocked reactor would stall
// every plugin. But a read the page cache already holds cannot block, and most reads of a hot file are
// such reads: `preadv2(RWF_NOWAIT)` performs exactly those and answers EAGAIN for the rest. Serving
// them on the reactor saves the two thread hand-offs (and, on a VM, their wake-ups) per call.
extension WASIFileBroker {
    /// The answer to `function` if it can be given without blocking, else nil: the caller then hands
    /// the call to the pool, which performs it (again, from the start) with the ordinary path. Any
    /// refusal also answers nil, so denials are audited by that one path.
    func serveWithoutBlocking(function: String, integers: [Int64], blobs: [[UInt8]]) -> WASIReply? {
        let positioned: Bool
        switch function {
        case "wasi.fd_read": positioned = false
        case "wasi.fd_pread": positioned = true
        default: return nil
        }
        let request = WASIRequest(integers: integers, blobs: blobs)
        return table.withLock { files -> WASIReply? in
            guard let (file, count, offset) = try? self.readTarget(request, files, positioned: positioned) else { return nil }
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { raw in
                cordon_read_nowait(file.hostFD, raw.baseAddress, UInt(raw.count), offset)   // -1: the file position
            }
            // EAGAIN (not cached), EOPNOTSUPP (a file type without RWF_NOWAIT), anything else: the pool
            // repeats the read the ordinary way and reports its own outcome.
            guard n >= 0 else { return nil }
            // A short read of a regular file may be the cached prefix of a longer one: a zero-length
            // answer would read as end of file, so only a non-empty read or a count of 0 is final here.
            guard n > 0 || count == 0 else { return nil }
            buffer.removeSubrange(n...)
            return .ok(buffer)
        }
    }
}
