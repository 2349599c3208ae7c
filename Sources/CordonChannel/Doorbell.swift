// The host's wake-up fd: an eventfd the worker writes 8 bytes to when (and only when) the host said it
// is about to sleep. Being an fd, one supervisor thread can wait on many workers' doorbells with epoll.
import CCordonShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrapper over the eventfd doorbell (non-blocking, close-on-exec on the host side).
struct Doorbell {
    /// The eventfd.
    let fd: CInt

    /// Creates a fresh doorbell.
    static func create() throws(ChannelError) -> Doorbell {
        let fd = cordon_eventfd_nonblocking()
        guard fd >= 0 else { throw .system(operation: "eventfd", errno: errno) }
        return Doorbell(fd: fd)
    }

    /// Adds 1 to the counter, waking pollers. A full counter (EAGAIN) already means "readable": ignore.
    func ring() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Resets the counter to 0 so a level-triggered poll stops reporting it (EAGAIN when already 0).
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }
}
