@testable import Cordon
import CordonAudit
import CordonChannel
import Glibc
import Testing

/// The brokered calls the reactor answers itself (`WASIFileBroker.serveWithoutBlocking`): exactly the
/// answers, offsets and audit records of the pool's path, and nothing that could wait for a disk or a
/// file server taken off the pool.
@Suite struct WASIReactorServedTests {
    @Test func tableAndOffsetCallsAnswerAsThePoolWould() throws {
        let fixture = try BrokerFixture()
        let opened = fixture.open("inside.txt", rights: Int64(WASIRights.fdRead | WASIRights.fdSeek | WASIRights.fdTell))
        #expect(opened.status == .success)
        let fd = fixture.fd(opened)
        func onReactor(_ function: String, _ integers: [Int64]) -> WASIReply? {
            fixture.broker.serveWithoutBlocking(WASIBrokeredFunction(hostCallName: "wasi." + function)!, integers: integers, blobs: [])
        }
        func offset(_ reply: WASIReply?) -> UInt64? {
            guard let reply, reply.status == .success, reply.data.count == 8 else { return nil }
            return reply.data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        }
        // Seeks from the start and from here move the shared offset; the pool's fd_tell sees it.
        #expect(offset(onReactor("fd_seek", [fd, 4, 0])) == 4)
        #expect(offset(onReactor("fd_seek", [fd, 2, 1])) == 6)
        #expect(offset(fixture.call("fd_tell", [fd])) == 6)
        #expect(offset(onReactor("fd_tell", [fd])) == 6)
        // Table-only answers are the pool's, byte for byte.
        for (function, integers) in [("fd_fdstat_get", [fd]), ("fd_prestat_get", [3]), ("fd_prestat_get", [4]),
                                     ("fd_prestat_dir_name", [4]), ("fd_fdstat_get", [99]), ("fd_tell", [99])] {
            #expect(onReactor(function, integers) == fixture.call(function, integers), "\(function) \(integers)")
        }
        #expect(onReactor("fd_prestat_get", [fd])?.status == .badFileDescriptor)
        #expect(onReactor("fd_seek", [fd, 0, 7])?.status == nil, "an invalid whence goes to the pool, which refuses it")
        #expect(fixture.call("fd_seek", [fd, 0, 7]).status == .invalid)
    }

    @Test func callsThatMayWaitStayOnThePool() throws {
        let fixture = try BrokerFixture()
        let fd = fixture.fd(fixture.open("inside.txt"))
        for (function, integers) in [("fd_seek", [fd, 0, 2]), ("fd_filestat_get", [fd]), ("fd_close", [fd]),
                                     ("fd_sync", [fd]), ("fd_readdir", [3, 4096, 0]), ("fd_renumber", [fd, 3])] {
            #expect(fixture.broker.serveWithoutBlocking(WASIBrokeredFunction(hostCallName: "wasi." + function)!, integers: integers, blobs: []) == nil,
                    "\(function) is not answered on the reactor")
        }
        #expect(fixture.broker.serveWithoutBlocking(.pathOpen, integers: [3, 1, 0, BrokerFixture.all, BrokerFixture.all, 0],
                                                    blobs: [Array("inside.txt".utf8)]) == nil)
    }

    @Test func aRefusalOnTheReactorIsAuditedLikeAnyOther() throws {
        let fixture = try BrokerFixture()
        let fd = fixture.fd(fixture.open("inside.txt", rights: Int64(WASIRights.fdRead | WASIRights.fdTell)))
        let before = fixture.recorded.filter { $0.type == .fsDenied }.count
        // Widening rights is refused as ENOTCAPABLE, and audited.
        let widened = fixture.broker.serveWithoutBlocking(.fdFdstatSetRights,
                                                          integers: [fd, BrokerFixture.all, 0], blobs: [])
        #expect(widened?.status == .notCapable)
        #expect(fixture.recorded.filter { $0.type == .fsDenied }.count == before + 1)
        // Seeking without fd_seek is refused the same way.
        #expect(fixture.broker.serveWithoutBlocking(.fdSeek, integers: [fd, 1, 0], blobs: [])?.status == .notCapable)
    }
}

/// A brokered call's name is looked up once, exactly: the host-call name of each function the broker
/// performs, and nothing else (the supervisor answers any other name `ENOSYS`, never a guess).
@Suite struct WASIBrokeredFunctionTests {
    @Test func eachFunctionIsFoundByItsHostCallNameOnly() {
        #expect(WASIBrokeredFunction.allCases.count == 31)
        for function in WASIBrokeredFunction.allCases {
            #expect(function.rawValue.hasPrefix("wasi."))
            #expect(WASIBrokeredFunction(hostCallName: function.rawValue) == function)
            #expect(WASIBrokeredFunction(hostCallName: String(function.rawValue.dropFirst(5))) == nil, "\(function): the prefix is part of the name")
        }
        for name in ["", "wasi.", "wasi.fd_seek ", "WASI.fd_seek", "wasi.FD_SEEK", "wasi.fd_seek\0", "wasi.clock_time_get",
                     "wasi.proc_exit", "wasi.fd_seek.", "wasi.fd_see", String(repeating: "wasi.fd_seek", count: 20)] {
            #expect(WASIBrokeredFunction(hostCallName: name) == nil, "\(name.debugDescription)")
        }
    }
}
