// The worker's side of file donation (docs/wasi.md): the supervisor's broker may send, on the
// donation socket, a duplicate of a regular file it opened read-only for the guest. The worker keeps
// it in a small reserved fd range and reads it with readv/preadv straight into guest memory; every
// other operation on that guest fd stays brokered. Its seccomp filter allows exactly this: recvmsg on
// the socket, dup3 into the range, and the four read calls on fds inside it.
import CCordonShims
import CordonPolicy
import Glibc

/// Guest fd → the worker's fd of a donated file.
struct DonatedFiles {
    private var hostFDs: [UInt32: Int32] = [:]

    /// How many stale messages one receive may discard before giving up (see `receive`).
    private static let maxDiscarded = 8

    var count: Int { hostFDs.count }

    /// The worker's fd for guest fd `guestFD`, when that file was donated.
    func hostFD(_ guestFD: UInt32) -> Int32? { hostFDs[guestFD] }

    /// Takes the donation the supervisor announced for `guestFD`. The message must carry exactly one
    /// fd and the expected guest fd number as a 4-byte payload; anything else is closed and
    /// skipped, and a message for another fd (a leftover) is skipped too, so one lost message cannot
    /// pair later files with the wrong guest fd. The fd is then moved into the reserved range; when
    /// the range (or RLIMIT_NOFILE) is full it is closed. False: no donation, reads stay brokered.
    mutating func receive(guestFD: UInt32) -> Bool {
        var fds = [Int32](repeating: -1, count: 8)
        for _ in 0..<Self.maxDiscarded {
            var tag: UInt32 = 0, tagLength: Int32 = 0, count: Int32 = 0, truncated: Int32 = 0
            let rc = fds.withUnsafeMutableBufferPointer {
                cordon_recv_fds(WASIPolicy.donationSocketFD, &tag, &tagLength, $0.baseAddress, Int32($0.count), &count, &truncated)
            }
            if rc != 0 {
                if errno == EINTR { continue }
                return false   // EAGAIN: nothing was sent; anything else: no usable socket
            }
            let received = Array(fds[0..<Int(max(0, min(count, Int32(fds.count))))])
            guard truncated == 0, tagLength == 4, received.count == 1, tag == guestFD else {
                for fd in received { Glibc.close(fd) }
                if tagLength == 0 && received.isEmpty { return false }   // the peer is gone
                continue
            }
            return place(received[0], guestFD: guestFD)
        }
        return false
    }

    /// Moves `fd` to the lowest free number of the reserved range (dup3, close-on-exec) and closes
    /// the number the kernel chose.
    private mutating func place(_ fd: Int32, guestFD: UInt32) -> Bool {
        defer { Glibc.close(fd) }
        if let old = hostFDs.removeValue(forKey: guestFD) { Glibc.close(old) }
        let used = Set(hostFDs.values)
        guard let slot = WASIPolicy.donatedFDs.first(where: { !used.contains($0) }) else { return false }
        // EBADF (the slot is at or above RLIMIT_NOFILE) or EMFILE: no room, the reads stay brokered.
        guard cordon_dup3(fd, slot, O_CLOEXEC) == slot else { return false }
        hostFDs[guestFD] = slot
        return true
    }

    /// Closes the worker's copy of `guestFD`, if any (the broker closes its own).
    mutating func close(_ guestFD: UInt32) {
        if let fd = hostFDs.removeValue(forKey: guestFD) { Glibc.close(fd) }
    }

    /// Follows a successful brokered `fd_renumber(from, to)`: whatever `to` was is closed, and `from`'s
    /// donation, if any, now answers for `to`.
    mutating func renumber(from: UInt32, to: UInt32) {
        guard from != to else { return }
        close(to)
        if let fd = hostFDs.removeValue(forKey: from) { hostFDs[to] = fd }
    }

    mutating func closeAll() {
        for fd in hostFDs.values { Glibc.close(fd) }
        hostFDs.removeAll()
    }
}
