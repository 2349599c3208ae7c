import CCordonShims

/// The supervisor's end of a worker's donation socket (`AF_UNIX`, `SOCK_SEQPACKET`; the worker's fd 6).
/// The broker sends one message per donated file: an `SCM_RIGHTS` duplicate of its own open file
/// description and, as payload, the guest fd number (u32). It never reads the socket and never waits
/// on it: a worker that does not take its messages only fills its own queue, and every send error
/// (`EAGAIN` when the queue is full, `ETOOMANYREFS`, a dead worker's `EPIPE`) means "not donated".
struct FileDonationSocket: Sendable {
    let fd: Int32

    /// Queues `hostFD` for the worker under guest fd `guestFD`; false when the kernel refused.
    func donate(_ hostFD: Int32, guestFD: Int32) -> Bool {
        guard fd >= 0, guestFD >= 0 else { return false }
        return cordon_send_fd(fd, hostFD, UInt32(guestFD)) == 0
    }
}
