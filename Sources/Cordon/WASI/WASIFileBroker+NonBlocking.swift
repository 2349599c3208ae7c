import CCordonShims
import CordonChannel
import Glibc

// The calls the reactor may serve itself. A brokered call normally hops to `wasiPool` because a file
// operation can block (a cold disk, a FIFO, a network file system), and a blocked reactor would stall
// every plugin. But a read the page cache already holds cannot block, and most reads of a hot file are
// such reads: `preadv2(RWF_NOWAIT)` performs exactly those and answers EAGAIN for the rest. Serving
// them on the reactor saves the two thread hand-offs (and, on a VM, their wake-ups) per call. So do
// the calls that touch only the broker's table or the file offset.
//
// The table lock taken here is never held by a pool thread at the same time: a worker has at most one
// host call outstanding, and its broker serves no one else.
extension WASIFileBroker {
    /// The answer to `function` if it can be given without blocking, else nil: the caller then hands
    /// the call to the pool, which performs it (again, from the start) with the ordinary path. Any
    /// refusal also answers nil, so denials are audited by that one path.
    func serveWithoutBlocking(_ function: WASIBrokeredFunction, integers: [Int64], blobs: [[UInt8]]) -> WASIReply? {
        let positioned: Bool
        switch function {
        case .fdRead: positioned = false
        case .fdPread: positioned = true
        case .fdFdstatGet, .fdFdstatSetRights, .fdPrestatGet, .fdPrestatDirName, .fdTell:
            // The broker's own table, and for `fd_tell` an lseek(SEEK_CUR), which only reads the open
            // file description's offset: nothing here waits for a disk or a server. Served in full
            // (refusals and their audit included) by the ordinary path, on this thread.
            return serve(function, integers: integers, blobs: blobs)
        case .fdSeek where integers.count == 3 && (integers[2] == 0 || integers[2] == 1):
            // SEEK_SET and SEEK_CUR only move the offset. SEEK_END needs the file's size, which a
            // network or FUSE file system may fetch from its server: that one takes the pool.
            return serve(function, integers: integers, blobs: blobs)
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
