@testable import Cordon
import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

/// Files in a preopen that are not regular files or directories: the broker must answer at once,
/// never wait on them with a thread of the pool every plugin shares.
@Suite struct WASISpecialFileTests {
    /// Runs `body`; if it has not returned after 30 s, opens the FIFO's other end (which releases an
    /// open or a read blocked on it) and reports that it had to. The broker answers in microseconds or
    /// blocks for good: 30 s only declares the hang, generously, so a machine stall cannot fake one.
    private static func withRescue(fifo: String, writer: Bool, _ body: () -> WASIReply) -> (WASIReply, rescued: Bool) {
        let done = DispatchSemaphore(value: 0)
        let rescued = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            if done.wait(timeout: .now() + 30) == .timedOut {
                rescued.store(true, ordering: .relaxed)
                let fd = open(fifo, writer ? O_WRONLY : O_RDONLY)
                if fd >= 0 { sleep(1); close(fd) }
            }
            finished.signal()
        }.start()
        let reply = body()
        done.signal()
        finished.wait()
        return (reply, rescued.load(ordering: .relaxed))
    }

    @Test func aFifoInThePreopenNeverBlocksTheBroker() throws {
        let fixture = try BrokerFixture()
        let fifo = fixture.sandbox + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)

        // Opening for reading with no writer: answered at once.
        let (opened, rescuedOpen) = Self.withRescue(fifo: fifo, writer: true) {
            fixture.open("pipe", rights: Int64(bitPattern: WASIRights.fdRead | WASIRights.fdFdstatSetFlags))
        }
        #expect(!rescuedOpen, "path_open waited for a writer")
        #expect(opened.status == .success, "answered \(opened.status.name)")
        guard opened.status == .success else { return }
        let fd = fixture.fd(opened)

        // Reading the empty FIFO with no writer: end of file, at once.
        let (read, rescuedRead) = Self.withRescue(fifo: fifo, writer: true) { fixture.call("fd_read", [fd, 64]) }
        #expect(!rescuedRead, "fd_read waited for a writer")
        #expect(read.status == .success && read.data.isEmpty, "answered \(read.status.name), \(read.data.count) bytes")

        // The guest clearing NONBLOCK does not make the host fd blocking.
        #expect(fixture.call("fd_fdstat_set_flags", [fd, 0]).status == .success)
        let (again, rescuedAgain) = Self.withRescue(fifo: fifo, writer: true) { fixture.call("fd_read", [fd, 64]) }
        #expect(!rescuedAgain, "fd_read waited after fd_fdstat_set_flags")
        #expect(again.status == .success)
        #expect(fixture.call("fd_close", [fd]).status == .success)

        // Opening for writing with no reader: refused at once (ENXIO), not a wait for a reader. A child
        // that another test is spawning at this moment can hold a copy of the read end until its exec
        // closes it (O_CLOEXEC), and then the open rightly succeeds: so a success is retried, a few
        // times, while a wait is never excused.
        var refused = false
        for _ in 0..<20 where !refused {
            let (write, rescuedWrite) = Self.withRescue(fifo: fifo, writer: false) {
                fixture.open("pipe", rights: Int64(bitPattern: WASIRights.fdWrite))
            }
            #expect(!rescuedWrite, "path_open for writing waited for a reader")
            if write.status == .success {
                _ = fixture.call("fd_close", [fixture.fd(write)])
                usleep(50_000)
            } else {
                refused = true
            }
        }
        #expect(refused, "path_open for writing succeeded with no reader, 20 times")
    }
}
