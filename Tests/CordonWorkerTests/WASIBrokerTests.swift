// Every brokered WASI function produces exactly the host call of docs/wasi.md, and its reply is
// mapped back into guest memory and errnos as the document says.
import CordonChannel
@testable import CordonWorkerRuntime
import Testing

@Suite struct WASIBrokerTests {
    typealias M = WASIModules

    struct Case {
        var function: String
        var arguments: [WasmValue]
        var integers: [Int64]
        var blobs: [[UInt8]] = []
        var reply: [UInt8] = []
        /// (address, bytes) expected in guest memory after the call.
        var written: [(Int, [UInt8])] = []
    }

    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static var cases: [Case] {
        let path = Array(M.pathText.utf8), newPath = Array(M.newPathText.utf8)
        let fdstat = (1...24).map { UInt8($0) }, filestat = (1...64).map { UInt8($0) }
        let pathArgs = [i32(M.path), i32(12)]
        return [
            Case(function: "fd_advise", arguments: [i32(5), i64(10), i64(20), i32(1)], integers: [5, 10, 20, 1]),
            Case(function: "fd_allocate", arguments: [i32(5), i64(0), i64(4096)], integers: [5, 0, 4096]),
            Case(function: "fd_close", arguments: [i32(5)], integers: [5]),
            Case(function: "fd_datasync", arguments: [i32(5)], integers: [5]),
            Case(function: "fd_fdstat_get", arguments: [i32(5), i32(M.scratch)], integers: [5], reply: fdstat, written: [(M.scratch, fdstat)]),
            Case(function: "fd_fdstat_set_flags", arguments: [i32(5), i32(1)], integers: [5, 1]),
            Case(function: "fd_fdstat_set_rights", arguments: [i32(5), i64(0xFF), i64(0x0F)], integers: [5, 255, 15]),
            Case(function: "fd_filestat_get", arguments: [i32(5), i32(M.scratch)], integers: [5], reply: filestat, written: [(M.scratch, filestat)]),
            Case(function: "fd_filestat_set_size", arguments: [i32(5), i64(100)], integers: [5, 100]),
            Case(function: "fd_filestat_set_times", arguments: [i32(5), i64(1), i64(-2), i32(3)], integers: [5, 1, -2, 3]),
            Case(function: "fd_pread", arguments: [i32(5), i32(M.iovecs), i32(2), i64(7), i32(M.result)], integers: [5, 8, 7],
                 reply: Array("HELLOXYZ".utf8), written: [(1024, Array("HELLO".utf8)), (1040, Array("XYZ".utf8)), (M.result, le32(8))]),
            Case(function: "fd_prestat_get", arguments: [i32(3), i32(M.scratch)], integers: [3], reply: [0, 0, 0, 0, 5, 0, 0, 0],
                 written: [(M.scratch, [0, 0, 0, 0, 5, 0, 0, 0])]),
            Case(function: "fd_prestat_dir_name", arguments: [i32(3), i32(M.scratch), i32(5)], integers: [3], reply: Array("/data".utf8),
                 written: [(M.scratch, Array("/data".utf8))]),
            Case(function: "fd_pwrite", arguments: [i32(5), i32(M.iovecs), i32(2), i64(9), i32(M.result)], integers: [5, 9],
                 blobs: [Array("helloabc".utf8)], reply: le32(6), written: [(M.result, le32(6))]),
            Case(function: "fd_read", arguments: [i32(5), i32(M.iovecs), i32(2), i32(M.result)], integers: [5, 8],
                 reply: Array("HEL".utf8), written: [(1024, Array("HEL".utf8)), (M.result, le32(3))]),
            Case(function: "fd_readdir", arguments: [i32(5), i32(M.scratch), i32(100), i64(42), i32(M.result)], integers: [5, 100, 42],
                 reply: Array(repeating: 9, count: 30), written: [(M.scratch, Array(repeating: 9, count: 30)), (M.result, le32(30))]),
            Case(function: "fd_renumber", arguments: [i32(5), i32(6)], integers: [5, 6]),
            Case(function: "fd_seek", arguments: [i32(5), i64(-3), i32(1), i32(M.result)], integers: [5, -3, 1],
                 reply: le64(77), written: [(M.result, le64(77))]),
            Case(function: "fd_sync", arguments: [i32(5)], integers: [5]),
            Case(function: "fd_tell", arguments: [i32(5), i32(M.result)], integers: [5], reply: le64(1 << 40), written: [(M.result, le64(1 << 40))]),
            Case(function: "fd_write", arguments: [i32(5), i32(M.iovecs), i32(2), i32(M.result)], integers: [5],
                 blobs: [Array("helloabc".utf8)], reply: le32(8), written: [(M.result, le32(8))]),
            Case(function: "path_create_directory", arguments: [i32(3)] + pathArgs, integers: [3], blobs: [path]),
            Case(function: "path_filestat_get", arguments: [i32(3), i32(1)] + pathArgs + [i32(M.scratch)], integers: [3, 1], blobs: [path],
                 reply: filestat, written: [(M.scratch, filestat)]),
            Case(function: "path_filestat_set_times", arguments: [i32(3), i32(1)] + pathArgs + [i64(11), i64(22), i32(3)],
                 integers: [3, 1, 11, 22, 3], blobs: [path]),
            Case(function: "path_link", arguments: [i32(3), i32(0)] + pathArgs + [i32(4), i32(M.newPath), i32(8)], integers: [3, 0, 4],
                 blobs: [path, newPath]),
            Case(function: "path_open", arguments: [i32(3), i32(1)] + pathArgs + [i32(9), i64(0xFFFF), i64(-1), i32(4), i32(M.result)],
                 integers: [3, 1, 9, 0xFFFF, -1, 4], blobs: [path], reply: le32(7) + [0], written: [(M.result, le32(7))]),
            Case(function: "path_readlink", arguments: [i32(3)] + pathArgs + [i32(M.scratch), i32(64), i32(M.result)], integers: [3, 64],
                 blobs: [path], reply: Array("target".utf8), written: [(M.scratch, Array("target".utf8)), (M.result, le32(6))]),
            Case(function: "path_remove_directory", arguments: [i32(3)] + pathArgs, integers: [3], blobs: [path]),
            Case(function: "path_rename", arguments: [i32(3)] + pathArgs + [i32(4), i32(M.newPath), i32(8)], integers: [3, 4],
                 blobs: [path, newPath]),
            Case(function: "path_symlink", arguments: pathArgs + [i32(3), i32(M.newPath), i32(8)], integers: [3], blobs: [path, newPath]),
            Case(function: "path_unlink_file", arguments: [i32(3)] + pathArgs, integers: [3], blobs: [path]),
        ]
    }

    @Test func everyBrokeredFunctionSendsTheDocumentedRequest() throws {
        let all = Self.cases
        // Every fd_* / path_* function that is not served in the worker has a case.
        let brokered = Set(WASIFunction.allCases.map(\.name).filter { $0.hasPrefix("fd_") || $0.hasPrefix("path_") })
        #expect(Set(all.map(\.function)) == brokered)
        let module = M.all()
        for c in all {
            // A fresh instance per case: reads change the memory the write cases send.
            let broker = Broker()
            let runtime = try M.load(module, wasi: WASIBootstrap(preopens: ["/data"]), transport: broker)
            broker.answer = { _ in (0, c.reply) }
            #expect(runtime.errno(c.function, c.arguments) == 0, "\(c.function)")
            #expect(broker.requests.map(\.function) == ["wasi." + c.function], "\(c.function)")
            #expect(broker.requests.first?.integers == c.integers, "\(c.function)")
            #expect(broker.requests.first?.blobs == c.blobs, "\(c.function)")
            for (address, bytes) in c.written {
                #expect(runtime.bytes(at: address, count: bytes.count) == bytes, "\(c.function) at \(address)")
            }
        }
    }

    /// The brokered calls are named by the channel's table; each is a preview-1 function the worker links.
    @Test func everyBrokeredCallIsAPreview1Function() {
        let linked = Set(WASIFunction.allCases.map(\.name))
        for function in WASIBrokeredFunction.allCases {
            #expect(function.rawValue.hasPrefix("wasi.") && linked.contains(String(function.rawValue.dropFirst(5))), "\(function.rawValue)")
        }
    }

    @Test func statusesMapToWASIErrnos() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), transport: broker)
        let mapping: [(Int64, UInt32)] = [(44, 44), (76, 76), (-1, 52), (-2, 76), (-3, 28), (-4, 6), (-5, 1), (-6, 29),
                                          (-7, 29), (77, 29), (1 << 40, 29)]
        for (status, errno) in mapping {
            broker.answer = { _ in (status, []) }
            #expect(runtime.errno("fd_close", [i32(9)]) == errno, "status \(status)")
        }
    }

    @Test func malformedRepliesAreEIONotTrustedLengths() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(preopens: ["/"]), transport: broker)
        broker.answer = { _ in (0, [1, 2, 3]) }   // 3 bytes where 24, 64, 8, 4 or 8 are due
        #expect(runtime.errno("fd_fdstat_get", [i32(5), i32(M.scratch)]) == 29)
        #expect(runtime.errno("fd_filestat_get", [i32(5), i32(M.scratch)]) == 29)
        #expect(runtime.errno("fd_prestat_get", [i32(3), i32(M.scratch)]) == 29)
        #expect(runtime.errno("path_open", [i32(3), i32(0), i32(M.path), i32(12), i32(0), i64(0), i64(0), i32(0), i32(M.result)]) == 29)
        #expect(runtime.errno("fd_seek", [i32(5), i64(0), i32(0), i32(M.result)]) == 29)
        #expect(runtime.errno("fd_write", [i32(5), i32(M.iovecs), i32(2), i32(M.result)]) == 29)
        // More bytes than asked for, or a count larger than what was sent.
        broker.answer = { _ in (0, [UInt8](repeating: 1, count: 9)) }
        #expect(runtime.errno("fd_read", [i32(5), i32(M.iovecs), i32(2), i32(M.result)]) == 29)
        broker.answer = { _ in (0, Self.le32(9)) }
        #expect(runtime.errno("fd_write", [i32(5), i32(M.iovecs), i32(2), i32(M.result)]) == 29)
        broker.answer = { _ in (0, Array("/toolong".utf8)) }
        #expect(runtime.errno("fd_prestat_dir_name", [i32(3), i32(M.scratch), i32(5)]) == 37)
    }

    @Test func preopenProbingEndsWithoutAHostCall() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), wasi: WASIBootstrap(preopens: ["/a", "/b"]), transport: broker)
        broker.answer = { _ in (0, [0, 0, 0, 0, 2, 0, 0, 0]) }
        #expect(runtime.errno("fd_prestat_get", [i32(3), i32(M.scratch)]) == 0)
        #expect(runtime.errno("fd_prestat_get", [i32(4), i32(M.scratch)]) == 0)
        #expect(runtime.errno("fd_prestat_get", [i32(5), i32(M.scratch)]) == 8)
        #expect(runtime.errno("fd_prestat_get", [i32(-1), i32(M.scratch)]) == 8)
        #expect(broker.requests.map { $0.integers } == [[3], [4]])
    }

    @Test func socketsAreNotSocketsOrNotOpen() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), transport: broker)
        let calls: [(String, [WasmValue])] = [
            ("sock_accept", [i32(5), i32(0), i32(M.result)]),
            ("sock_recv", [i32(5), i32(M.iovecs), i32(2), i32(0), i32(M.result), i32(M.result + 4)]),
            ("sock_send", [i32(5), i32(M.iovecs), i32(2), i32(0), i32(M.result)]),
            ("sock_shutdown", [i32(5), i32(2)]),
        ]
        for (name, arguments) in calls {
            broker.answer = { _ in (0, [UInt8](repeating: 0, count: 24)) }
            #expect(runtime.errno(name, arguments) == 57, "\(name) on an open file")
            broker.answer = { _ in (8, []) }
            #expect(runtime.errno(name, arguments) == 8, "\(name) on a closed fd")
        }
        #expect(runtime.errno("sock_shutdown", [i32(1), i32(2)]) == 57)
        #expect(broker.requests.allSatisfy { $0.function == "wasi.fd_fdstat_get" && $0.integers == [5] })
    }

    @Test func readsAndWritesAreCutToTheHostCallLimit() throws {
        let broker = Broker()
        // maxHostCallBytes 1024 → at most 960 payload bytes per request.
        let runtime = try M.load(M.all(extra: """
          (func (export "big") (param i32) (result i32)
            (i32.store (i32.const 0) (i32.const 8192)) (i32.store (i32.const 4) (i32.const 5000))
            (call $fd_write (local.get 0) (i32.const 0) (i32.const 1) (i32.const 2304)))
          (func (export "bigread") (param i32) (result i32)
            (i32.store (i32.const 0) (i32.const 8192)) (i32.store (i32.const 4) (i32.const 5000))
            (call $fd_read (local.get 0) (i32.const 0) (i32.const 1) (i32.const 2304)))
        """), transport: broker)
        broker.answer = { request in (0, Self.le32(UInt32(request.blobs.first?.count ?? 0))) }
        #expect(runtime.run("big", [i32(5)]).result == .values([.i32(0)]))
        #expect(broker.requests.last?.blobs.first?.count == 960)
        #expect(runtime.u32(at: M.result) == 960)
        broker.answer = { request in (0, [UInt8](repeating: 1, count: Int(request.integers[1]))) }
        #expect(runtime.run("bigread", [i32(5)]).result == .values([.i32(0)]))
        #expect(broker.requests.last?.integers == [5, 960])
        #expect(runtime.u32(at: M.result) == 960)
        // A path longer than one request can carry is ENAMETOOLONG before anything is sent.
        let count = broker.requests.count
        #expect(runtime.errno("path_unlink_file", [i32(3), i32(0), i32(961)]) == 37)
        #expect(broker.requests.count == count)
    }

    @Test func stdioFdsCannotBeRenumberedOrUsedAsDirectories() throws {
        let broker = Broker()
        let runtime = try M.load(M.all(), transport: broker)
        #expect(runtime.errno("fd_renumber", [i32(5), i32(1)]) == 58)
        #expect(runtime.errno("fd_renumber", [i32(0), i32(5)]) == 58)
        #expect(runtime.errno("path_rename", [i32(3), i32(M.path), i32(12), i32(2), i32(M.newPath), i32(8)]) == 54)
        #expect(runtime.errno("fd_close", [i32(1)]) == 0)
        #expect(runtime.errno("fd_readdir", [i32(0), i32(M.scratch), i32(64), i64(0), i32(M.result)]) == 54)
        #expect(broker.requests.isEmpty)
    }
}
