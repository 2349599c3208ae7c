// poll_oneoff. The worker has no real fds to wait on: fd_read / fd_write subscriptions are ready at
// once (stdin reports the bytes left, stdout and stderr the output allowance left). Only clocks make
// it wait, on a futex nobody wakes, because futex is already in the worker's allow-list and a sleep
// system call is not.
import CCordonShims
import CordonChannel
#if canImport(Glibc)
import Glibc
#endif

extension WASISystem {
    private struct Event {
        var userdata: UInt64
        var errno: UInt16
        var type: UInt8
        var bytes: UInt64
    }

    func pollOneoff(_ input: UInt32, _ output: UInt32, _ count: UInt32, _ result: UInt32) -> WASIErrno.RawValue {
        guard count > 0 else { return WASIErrno.invalid.rawValue }
        guard let memory, memory.contains(pointer: input, count: count, size: WASILayout.subscriptionSize),
              memory.contains(pointer: output, count: count, size: WASILayout.eventSize),
              memory.contains(pointer: result, length: 4) else { return WASIErrno.fault.rawValue }
        var ready: [Event] = []
        var timers: [(userdata: UInt64, wait: UInt64)] = []
        for index in 0..<count {
            // Inside memory (checked above): no wrap, and every load below succeeds.
            let base = input &+ index &* WASILayout.subscriptionSize
            let userdata = memory.loadU64(at: base) ?? 0
            let tag = memory.loadU8(at: base &+ 8) ?? 0xFF
            switch tag {
            case WASILayout.eventClock:
                let id = memory.loadU32(at: base &+ 16) ?? 0
                let timeout = memory.loadU64(at: base &+ 24) ?? 0
                let flags = memory.loadU16(at: base &+ 40) ?? 0
                guard let kernel = WASIClock.kernelClock(id), let now = WASIClock.exactNanoseconds(kernel) else {
                    ready.append(Event(userdata: userdata, errno: WASIErrno.invalid.rawValue, type: tag, bytes: 0))
                    continue
                }
                let wait = flags & WASILayout.clockAbsoluteTime != 0 ? (timeout > now ? timeout - now : 0) : timeout
                if wait == 0 {
                    ready.append(Event(userdata: userdata, errno: 0, type: tag, bytes: 0))
                } else {
                    timers.append((userdata, wait))
                }
            case WASILayout.eventFdRead, WASILayout.eventFdWrite:
                let fd = memory.loadU32(at: base &+ 16) ?? 0
                ready.append(fdEvent(userdata: userdata, type: tag, fd: fd))
            default:
                return WASIErrno.invalid.rawValue
            }
        }
        if ready.isEmpty, let soonest = timers.map(\.wait).min() {
            sleep(nanoseconds: soonest)
            ready = timers.filter { $0.wait == soonest }.map { Event(userdata: $0.userdata, errno: 0, type: WASILayout.eventClock, bytes: 0) }
        }
        for (index, event) in ready.enumerated() {
            var bytes = [UInt8](repeating: 0, count: Int(WASILayout.eventSize))
            withUnsafeBytes(of: event.userdata.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            withUnsafeBytes(of: event.errno.littleEndian) { bytes.replaceSubrange(8..<10, with: $0) }
            bytes[10] = event.type
            withUnsafeBytes(of: event.bytes.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
            _ = memory.write(bytes, at: output &+ UInt32(index) &* WASILayout.eventSize)
        }
        _ = memory.store(u32: UInt32(ready.count), at: result)
        return WASIErrno.success.rawValue
    }

    private func fdEvent(userdata: UInt64, type: UInt8, fd: UInt32) -> Event {
        let reading = type == WASILayout.eventFdRead
        switch fd {
        case 0:
            return reading ? Event(userdata: userdata, errno: 0, type: type, bytes: UInt64(stdin.remaining))
                : Event(userdata: userdata, errno: WASIErrno.badFileDescriptor.rawValue, type: type, bytes: 0)
        case 1, 2:
            let allowance = fd == 1 ? stdout.allowance : stderr.allowance
            return reading ? Event(userdata: userdata, errno: WASIErrno.badFileDescriptor.rawValue, type: type, bytes: 0)
                : Event(userdata: userdata, errno: 0, type: type, bytes: allowance)
        default:
            return Event(userdata: userdata, errno: 0, type: type, bytes: 0)
        }
    }

    /// Sleeps at least `nanoseconds` on the monotonic clock (futex waits return early on signals and
    /// spurious wake-ups, so the deadline is re-checked).
    func sleep(nanoseconds: UInt64) {
        guard let start = WASIClock.exactNanoseconds(CLOCK_MONOTONIC) else { return }
        let (deadline, overflow) = start.addingReportingOverflow(nanoseconds)
        let end = overflow ? UInt64.max : deadline
        while let now = WASIClock.exactNanoseconds(CLOCK_MONOTONIC), now < end {
            _ = cordon_futex_wait(sleepWord, 0, Int64(clamping: end - now))
        }
    }
}
