@testable import Cordon
import CordonAudit
import CordonChannel
import CordonPolicy
import Foundation
import Glibc
import Synchronization
import Testing

/// A broker over real directories (mkdtemp): `root/sandbox` is preopened read-write at fd 3 as `/`,
/// `root/ro` read-only at fd 4 as `/ro`, and `root/outside` is what every attempt tries to reach.
final class BrokerFixture: Sendable {
    let root: String
    let broker: WASIFileBroker
    private let events: EventSink

    var sandbox: String { root + "/sandbox" }
    var outside: String { root + "/outside" }
    var readOnly: String { root + "/ro" }

    init(policy: WASIPolicy = .standard, maxReplyBytes: Int = 1 << 16, donationFD: Int32 = -1) throws {
        var template = Array((NSTemporaryDirectory() + "/cordon-wasi-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CordonError.fileNotFound(path: "mkdtemp") }
        root = String(cString: made)
        let fm = FileManager.default
        for d in ["sandbox/sub/deeper", "outside", "ro"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: root + "/outside/secret"))
        try Data("inside\n".utf8).write(to: URL(fileURLWithPath: root + "/sandbox/inside.txt"))
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: root + "/ro/kept.txt"))
        let sink = EventSink()
        events = sink
        broker = try WASIFileBroker(
            preopens: [WASIPreopen(hostPath: root + "/sandbox", guestPath: "/"),
                       WASIPreopen(hostPath: root + "/ro", guestPath: "/ro", readOnly: true)],
            policy: policy, maxReplyBytes: maxReplyBytes,
            identity: WASIBrokerIdentity(tenant: "t", plugin: "escape", pid: getpid()), donationFD: donationFD,
            record: { event in sink.events.withLock { $0.append(event) } })
    }

    deinit {
        broker.close()
        try? FileManager.default.removeItem(atPath: root)
    }

    var recorded: [AuditEvent] { events.events.withLock { $0 } }

    func call(_ function: String, _ integers: [Int64], _ blobs: [String] = []) -> WASIReply {
        callBytes(function, integers, blobs.map { Array($0.utf8) })
    }

    /// The broker performs named functions only: the supervisor answers any other name ENOSYS
    /// before it reaches a broker (`WASIBrokeredFunctionTests`), so a name here must be one of them.
    func callBytes(_ function: String, _ integers: [Int64], _ blobs: [[UInt8]]) -> WASIReply {
        guard let known = WASIBrokeredFunction(hostCallName: "wasi." + function) else {
            Issue.record("\(function) is not a function the broker performs")
            return WASIReply(status: .noSys, data: [])
        }
        return broker.serve(known, integers: integers, blobs: blobs)
    }

    static let all = Int64(bitPattern: WASIRights.all)
    static let follow: Int64 = 1

    /// `path_open` with every right; returns the reply (data = the new fd on success).
    func open(_ path: String, at fd: Int64 = 3, lookup: Int64 = BrokerFixture.follow, oflags: Int64 = 0,
              rights: Int64 = BrokerFixture.all, fdflags: Int64 = 0) -> WASIReply {
        call("path_open", [fd, lookup, oflags, rights, BrokerFixture.all, fdflags], [path])
    }

    func fd(_ reply: WASIReply) -> Int64 {
        Int64(reply.data.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }.littleEndian)
    }

    /// Every file below `outside` (and the fixture's other directories) with its size, link count
    /// and modification time: compared before and after an attempt, nothing may differ.
    func snapshot(_ dir: String? = nil) -> [String: String] {
        let base = dir ?? outside
        var out: [String: String] = [:]
        var st = stat()
        if lstat(base, &st) == 0 { out["."] = "\(st.st_size) \(st.st_nlink) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" }
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? [] {
            if lstat(base + "/" + name, &st) == 0 {
                out[name] = "\(st.st_size) \(st.st_nlink) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            }
        }
        return out
    }

    /// The attempt answers `errno`, leaves `outside` (and the read-only preopen) untouched, and is
    /// audited as `fs.denied` naming the function and errno.
    func expectRefused(_ errno: WASIErrno, function: String, sourceLocation: SourceLocation = #_sourceLocation,
                       _ attempt: () -> WASIReply) {
        let before = (snapshot(), snapshot(readOnly))
        let deniedBefore = recorded.filter { $0.type == .fsDenied }.count
        let reply = attempt()
        #expect(reply.status == errno, "answered \(reply.status.name)", sourceLocation: sourceLocation)
        #expect(reply.data.isEmpty, sourceLocation: sourceLocation)
        #expect(snapshot() == before.0, "something outside changed", sourceLocation: sourceLocation)
        #expect(snapshot(readOnly) == before.1, "the read-only preopen changed", sourceLocation: sourceLocation)
        let denied = recorded.filter { $0.type == .fsDenied }
        #expect(denied.count == deniedBefore + 1, "no fs.denied record", sourceLocation: sourceLocation)
        if let last = denied.last {
            #expect(last.data["function"] == .string("wasi." + function), sourceLocation: sourceLocation)
            #expect(last.data["errno"] == .string(errno.name), sourceLocation: sourceLocation)
            #expect(last.plugin == "escape" && last.tenant == "t", sourceLocation: sourceLocation)
            #expect(AuditEventType.fsDenied.firstSchemaViolation(in: last.data) == nil, sourceLocation: sourceLocation)
        }
    }
}

/// The audit records a broker made, in order.
final class EventSink: Sendable {
    let events = Mutex<[AuditEvent]>([])
}

/// The escape catalogue: every way out of a preopen we know of, against the real kernel.
@Suite struct WASIEscapeTests {
    @Test func dotDotOutOfThePreopen() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_open") { f.open("../outside/secret") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("sub/../../outside/secret") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("sub/deeper/../../../outside/secret", oflags: 1) }
        #expect(f.recorded.last?.data["path"] == .string("sub/deeper/../../../outside/secret"))
    }

    @Test func absolutePath() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_open") { f.open("/etc/passwd") }
        f.expectRefused(.notCapable, function: "path_filestat_get") { f.call("path_filestat_get", [3, 1], ["/etc/passwd"]) }
    }

    @Test func absoluteSymlink() throws {
        let f = try BrokerFixture()
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/abs", withDestinationPath: f.outside + "/secret")
        f.expectRefused(.notCapable, function: "path_open") { f.open("abs") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("abs", oflags: 1 | 8) }  // O_CREAT|O_TRUNC through it
        f.expectRefused(.notCapable, function: "path_filestat_get") { f.call("path_filestat_get", [3, 1], ["abs"]) }
        // Not following it is fine: that is the link itself, inside.
        #expect(f.call("path_filestat_get", [3, 0], ["abs"]).status == .success)
    }

    @Test func relativeSymlinkEscaping() throws {
        let f = try BrokerFixture()
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/sub/rel", withDestinationPath: "../../outside/secret")
        f.expectRefused(.notCapable, function: "path_open") { f.open("sub/rel") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("sub/rel", rights: Int64(WASIRights.fdWrite)) }
    }

    @Test func symlinkChainEscaping() throws {
        let f = try BrokerFixture()
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: f.sandbox + "/c1", withDestinationPath: "sub/c2")
        try fm.createSymbolicLink(atPath: f.sandbox + "/sub/c2", withDestinationPath: "deeper/c3")
        try fm.createSymbolicLink(atPath: f.sandbox + "/sub/deeper/c3", withDestinationPath: "../../../outside")
        f.expectRefused(.notCapable, function: "path_open") { f.open("c1/secret") }
        f.expectRefused(.notCapable, function: "path_create_directory") { f.call("path_create_directory", [3], ["c1/newdir"]) }
        f.expectRefused(.notCapable, function: "path_unlink_file") { f.call("path_unlink_file", [3], ["c1/secret"]) }
    }

    @Test func symlinkToProcSelfRoot() throws {
        let f = try BrokerFixture()
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/proc", withDestinationPath: "/proc/self/root")
        f.expectRefused(.notCapable, function: "path_open") { f.open("proc/etc/passwd") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("proc", oflags: 2) }
    }

    @Test func procSelfFdMagicLinkViaSymlink() throws {
        let f = try BrokerFixture()
        let outsideFD = Glibc.open(f.outside + "/secret", O_RDONLY | O_CLOEXEC)
        #expect(outsideFD >= 0)
        defer { Glibc.close(outsideFD) }
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/fdlink", withDestinationPath: "/proc/self/fd/\(outsideFD)")
        f.expectRefused(.notCapable, function: "path_open") { f.open("fdlink") }
        // A relative route to /proc climbs out first, and is refused for that.
        let up = String(repeating: "../", count: f.sandbox.split(separator: "/").count)
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/fdrel", withDestinationPath: up + "proc/self/fd/\(outsideFD)")
        f.expectRefused(.notCapable, function: "path_open") { f.open("fdrel") }
    }

    @Test func hardLinkWithOutsideSourceOrTarget() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_link") { f.call("path_link", [3, 0, 3], ["../outside/secret", "stolen"]) }
        #expect(!FileManager.default.fileExists(atPath: f.sandbox + "/stolen"))
        f.expectRefused(.notCapable, function: "path_link") { f.call("path_link", [3, 0, 3], ["inside.txt", "../outside/planted"]) }
        #expect(f.recorded.last?.data["target"] == .string("../outside/planted"))
        // Through a symlink that leads out, with SYMLINK_FOLLOW: refused before the kernel sees it.
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/abs", withDestinationPath: f.outside + "/secret")
        f.expectRefused(.invalid, function: "path_link") { f.call("path_link", [3, 1, 3], ["abs", "stolen"]) }
    }

    @Test func renameOutOfAndIntoThePreopen() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_rename") { f.call("path_rename", [3, 3], ["inside.txt", "../outside/moved"]) }
        #expect(FileManager.default.fileExists(atPath: f.sandbox + "/inside.txt"))
        f.expectRefused(.notCapable, function: "path_rename") { f.call("path_rename", [3, 3], ["../outside/secret", "stolen"]) }
        f.expectRefused(.notCapable, function: "path_rename") { f.call("path_rename", [3, 3], ["sub/..", "x"]) }
        // Into the read-only preopen, and out of it.
        f.expectRefused(.readOnlyFileSystem, function: "path_rename") { f.call("path_rename", [3, 4], ["inside.txt", "moved"]) }
        f.expectRefused(.readOnlyFileSystem, function: "path_rename") { f.call("path_rename", [4, 3], ["kept.txt", "moved"]) }
    }

    @Test func subdirectoryFdThenDotDot() throws {
        let f = try BrokerFixture()
        let sub = f.open("sub", oflags: 2)
        #expect(sub.status == .success)
        let subFD = f.fd(sub)
        // Each directory fd is its own root, as in wasmtime (cap-std): `..` above it is refused
        // even where it would still be inside the preopen.
        f.expectRefused(.notCapable, function: "path_open") { f.open("../inside.txt", at: subFD) }
        f.expectRefused(.notCapable, function: "path_open") { f.open("../../outside/secret", at: subFD) }
        f.expectRefused(.notCapable, function: "path_remove_directory") { f.call("path_remove_directory", [subFD], ["deeper/.."]) }
    }

    @Test func nulAndEmptyAndMalformedPaths() throws {
        let f = try BrokerFixture()
        f.expectRefused(.invalid, function: "path_open") {
            f.callBytes("path_open", [3, 1, 0, BrokerFixture.all, BrokerFixture.all, 0], [Array("inside.txt\0../outside/secret".utf8)])
        }
        f.expectRefused(.noEntry, function: "path_open") { f.open("") }
        f.expectRefused(.illegalSequence, function: "path_open") {
            f.callBytes("path_open", [3, 1, 0, BrokerFixture.all, BrokerFixture.all, 0], [[0x61, 0xff, 0xfe]])
        }
        f.expectRefused(.nameTooLong, function: "path_create_directory") {
            f.call("path_create_directory", [3], [String(repeating: "a/", count: 3000)])
        }
    }

    @Test func readOnlyPreopenRefusesEveryMutation() throws {
        let f = try BrokerFixture()
        f.expectRefused(.readOnlyFileSystem, function: "path_open") { f.open("new.txt", at: 4, oflags: 1) }
        #expect(!FileManager.default.fileExists(atPath: f.readOnly + "/new.txt"))
        f.expectRefused(.readOnlyFileSystem, function: "path_open") { f.open("kept.txt", at: 4, rights: Int64(WASIRights.fdWrite)) }
        f.expectRefused(.readOnlyFileSystem, function: "path_open") { f.open("kept.txt", at: 4, oflags: 8, rights: Int64(WASIRights.fdRead)) }
        f.expectRefused(.readOnlyFileSystem, function: "path_unlink_file") { f.call("path_unlink_file", [4], ["kept.txt"]) }
        f.expectRefused(.readOnlyFileSystem, function: "path_create_directory") { f.call("path_create_directory", [4], ["d"]) }
        f.expectRefused(.readOnlyFileSystem, function: "path_symlink") { f.call("path_symlink", [4], ["kept.txt", "l"]) }
        f.expectRefused(.readOnlyFileSystem, function: "path_link") { f.call("path_link", [4, 0, 4], ["kept.txt", "l"]) }
        f.expectRefused(.readOnlyFileSystem, function: "path_filestat_set_times") {
            f.call("path_filestat_set_times", [4, 0, 0, 0, 2 | 8], ["kept.txt"])
        }
        // Reading works, and the fd it gives refuses writes, truncation and times.
        let kept = f.open("kept.txt", at: 4, rights: Int64(WASIRights.fdRead))
        #expect(kept.status == .success)
        let fd = f.fd(kept)
        #expect(f.call("fd_read", [fd, 100]).data == Array("kept\n".utf8))
        f.expectRefused(.notCapable, function: "fd_write") { f.call("fd_write", [fd], ["x"]) }
        f.expectRefused(.notCapable, function: "fd_filestat_set_size") { f.call("fd_filestat_set_size", [fd, 0]) }
    }

    @Test func symlinkCreationThatWouldLeadOut() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_symlink") { f.call("path_symlink", [3], ["/etc/passwd", "abs"]) }
        f.expectRefused(.notCapable, function: "path_symlink") { f.call("path_symlink", [3], ["../outside/secret", "rel"]) }
        f.expectRefused(.notCapable, function: "path_symlink") { f.call("path_symlink", [3], ["../../outside", "sub/rel"]) }
        #expect(f.call("path_filestat_get", [3, 0], ["abs"]).status == .noEntry)
        // A host-made absolute symlink is still not followed.
        try FileManager.default.createSymbolicLink(atPath: f.sandbox + "/abs", withDestinationPath: "/etc/passwd")
        f.expectRefused(.notCapable, function: "path_open") { f.open("abs") }
    }

    @Test func renumberOntoAPreopenThenEscape() throws {
        let f = try BrokerFixture()
        let sub = f.open("sub", oflags: 2)
        #expect(sub.status == .success)
        #expect(f.call("fd_renumber", [f.fd(sub), 3]).status == .success)
        #expect(f.call("fd_prestat_get", [3]).status == .badFileDescriptor)  // no longer a preopen
        f.expectRefused(.notCapable, function: "path_open") { f.open("../inside.txt") }
        f.expectRefused(.notCapable, function: "path_open") { f.open("../../outside/secret") }
        #expect(f.open("deeper", oflags: 2).status == .success)  // fd 3 is now `sub`
        #expect(f.call("fd_renumber", [3, 99]).status == .badFileDescriptor)
    }

    @Test func lastComponentDotDotAndParentEscapes() throws {
        let f = try BrokerFixture()
        f.expectRefused(.notCapable, function: "path_create_directory") { f.call("path_create_directory", [3], ["../outside/new"]) }
        f.expectRefused(.notCapable, function: "path_unlink_file") { f.call("path_unlink_file", [3], ["../outside/secret"]) }
        f.expectRefused(.notCapable, function: "path_remove_directory") { f.call("path_remove_directory", [3], [".."]) }
        f.expectRefused(.notCapable, function: "path_filestat_set_times") {
            f.call("path_filestat_set_times", [3, 1, 0, 0, 2 | 8], ["../outside/secret"])
        }
        f.expectRefused(.notCapable, function: "path_readlink") { f.call("path_readlink", [3, 100], ["../outside/secret"]) }
    }

    @Test func hostileIntegersAndCookies() throws {
        let f = try BrokerFixture()
        #expect(f.call("fd_read", [-1, 10]).status == .badFileDescriptor)
        #expect(f.call("fd_read", [1 << 40, 10]).status == .badFileDescriptor)
        #expect(f.call("fd_read", []).status == .invalid)
        #expect(f.call("path_open", [3], []).status == .invalid)
        #expect(f.call("fd_close", [0]).status == .badFileDescriptor)
        #expect(f.call("fd_seek", [3, 0, 7]).status == .invalid)
        let file = f.fd(f.open("inside.txt"))
        let huge = f.call("fd_read", [file, Int64.max])  // bounded by maxReplyBytes before allocation
        #expect(huge.status == .success && huge.data == Array("inside\n".utf8))
        #expect(f.call("fd_pread", [file, 10, -5]).status == .invalid)
        // A forged cookie is just a position the kernel checks; no crash, no entries from elsewhere.
        for cookie: Int64 in [-1, 1 << 62, 12345] {
            let r = f.call("fd_readdir", [3, 4096, cookie])
            #expect(r.status == .success || r.status == .invalid || r.status == .noEntry)
        }
    }

    @Test func limitsOnOpenFilesAndWrites() throws {
        let f = try BrokerFixture(policy: WASIPolicy(maxOpenFiles: 4, maxWriteBytesPerCall: 8))
        #expect(f.open("inside.txt").status == .success)
        #expect(f.open("sub", oflags: 2).status == .success)
        f.expectRefused(.tooManyOpenFiles, function: "path_open") { f.open("inside.txt") }
        #expect(f.call("fd_close", [5]).status == .success)
        let w = f.open("w.txt", oflags: 1)
        #expect(w.status == .success && f.fd(w) == 5)  // lowest free number
        f.expectRefused(.fileTooBig, function: "fd_write") { f.call("fd_write", [5], ["123456789"]) }
        f.expectRefused(.fileTooBig, function: "fd_write") { f.call("fd_write", [5], ["123456789"]) }
        #expect(f.recorded.filter { $0.type == .limitBreach }.count == 1)  // audited once
        #expect(f.call("fd_write", [5], ["12345678"]).status == .success)
    }
}

/// What works beneath a preopen, through the broker, with the WASI layouts.
@Suite struct WASIBrokerTests {
    @Test func preopensAreDescribed() throws {
        let f = try BrokerFixture()
        #expect(f.call("fd_prestat_get", [3]).data == [0, 0, 0, 0, 1, 0, 0, 0])
        #expect(f.call("fd_prestat_dir_name", [3]).data == Array("/".utf8))
        #expect(f.call("fd_prestat_get", [4]).data == [0, 0, 0, 0, 3, 0, 0, 0])
        #expect(f.call("fd_prestat_dir_name", [4]).data == Array("/ro".utf8))
        #expect(f.call("fd_prestat_get", [5]).status == .badFileDescriptor)
        let stat = f.call("fd_fdstat_get", [3]).data
        #expect(stat.count == 24 && stat[0] == WASIFileType.directory.rawValue)
    }

    @Test func createWriteReadSeek() throws {
        let f = try BrokerFixture()
        let created = f.open("sub/new.txt", oflags: 1 | 4)
        #expect(created.status == .success)
        let fd = f.fd(created)
        #expect(f.call("fd_write", [fd], ["hello, world"]).data == [12, 0, 0, 0])
        #expect(f.call("fd_tell", [fd]).data == [12, 0, 0, 0, 0, 0, 0, 0])
        #expect(f.call("fd_seek", [fd, 7, 0]).data == [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(f.call("fd_read", [fd, 100]).data == Array("world".utf8))
        #expect(f.call("fd_pread", [fd, 5, 0]).data == Array("hello".utf8))
        #expect(f.call("fd_pwrite", [fd, 0], ["HELLO"]).data == [5, 0, 0, 0])
        #expect(f.call("fd_seek", [fd, -5, 2]).data == [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(try String(contentsOfFile: f.sandbox + "/sub/new.txt", encoding: .utf8) == "HELLO, world")
        #expect(f.open("sub/new.txt", oflags: 1 | 4).status == .exist)
        // APPEND: writes land at the end whatever the offset.
        let app = f.fd(f.open("sub/new.txt", fdflags: 1))
        #expect(f.call("fd_write", [app], ["!"]).status == .success)
        #expect(try String(contentsOfFile: f.sandbox + "/sub/new.txt", encoding: .utf8) == "HELLO, world!")
        #expect(f.call("fd_fdstat_get", [app]).data[2] == 1)
        let opens = f.recorded.filter { $0.type == .fsOpen }
        #expect(opens.count == 2 && opens[0].data["path"] == .string("sub/new.txt") && opens[0].data["write"] == .bool(true))
        #expect(f.call("fd_close", [fd]).status == .success)
        #expect(f.call("fd_read", [fd, 1]).status == .badFileDescriptor)
    }

    @Test func filestatSizesAndTypes() throws {
        let f = try BrokerFixture()
        let st = f.call("path_filestat_get", [3, 1], ["inside.txt"])
        #expect(st.status == .success && st.data.count == 64)
        #expect(st.data[16] == WASIFileType.regularFile.rawValue)
        #expect(st.data[32] == 7)  // size
        #expect(st.data[24] == 1)  // nlink
        let fd = f.fd(f.open("inside.txt"))
        #expect(f.call("fd_filestat_get", [fd]).data == st.data)
        #expect(f.call("fd_filestat_set_size", [fd, 3]).status == .success)
        #expect(f.call("fd_filestat_get", [fd]).data[32] == 3)
        #expect(f.call("fd_filestat_set_times", [fd, 5_000_000_000, 7_000_000_000, 1 | 4]).status == .success)
        let times = f.call("fd_filestat_get", [fd]).data
        #expect(Array(times[40..<48]) == Array(withUnsafeBytes(of: UInt64(5_000_000_000).littleEndian) { Array($0) }))
        #expect(f.call("path_filestat_get", [3, 1], ["sub"]).data[16] == WASIFileType.directory.rawValue)
    }

    @Test func symlinksInsideWork() throws {
        let f = try BrokerFixture()
        #expect(f.call("path_symlink", [3], ["../inside.txt", "sub/link"]).status == .success)
        #expect(f.call("path_readlink", [3, 100], ["sub/link"]).data == Array("../inside.txt".utf8))
        #expect(f.call("path_readlink", [3, 4], ["sub/link"]).data == Array("../i".utf8))
        let opened = f.open("sub/link")
        #expect(opened.status == .success)
        #expect(f.call("fd_read", [f.fd(opened), 100]).data == Array("inside\n".utf8))
        #expect(f.open("sub/link", lookup: 0).status == .loop)  // not following a final symlink
        #expect(f.call("path_filestat_get", [3, 0], ["sub/link"]).data[16] == WASIFileType.symbolicLink.rawValue)
        #expect(f.call("path_link", [3, 0, 3], ["inside.txt", "sub/hard"]).status == .success)
        #expect(f.call("path_filestat_get", [3, 0], ["inside.txt"]).data[24] == 2)
        #expect(f.call("path_rename", [3, 3], ["sub/hard", "renamed"]).status == .success)
        #expect(f.call("path_unlink_file", [3], ["renamed"]).status == .success)
        #expect(f.call("path_create_directory", [3], ["made"]).status == .success)
        #expect(f.call("path_remove_directory", [3], ["made"]).status == .success)
        #expect(f.call("path_unlink_file", [3], ["inside.txt/"]).status == .notDirectory)
        #expect(f.call("path_unlink_file", [3], ["sub"]).status == .isDirectory)
        #expect(f.call("path_remove_directory", [3], ["sub"]).status == .notEmpty)
    }

    /// Parses `fd_readdir` output into (name, next cookie, type).
    static func entries(_ data: [UInt8]) -> [(name: String, next: UInt64, type: UInt8)] {
        var out: [(String, UInt64, UInt8)] = []
        var i = 0
        while i + 24 <= data.count {
            let next = data[i..<i + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let len = Int(data[i + 16]) | Int(data[i + 17]) << 8
            guard i + 24 + len <= data.count else { break }
            out.append((String(decoding: data[i + 24..<i + 24 + len], as: UTF8.self), next, data[i + 20]))
            i += 24 + len
        }
        return out
    }

    @Test func readdirListsEntriesWithStableCookies() throws {
        let f = try BrokerFixture()
        for n in 0..<20 { try Data().write(to: URL(fileURLWithPath: f.sandbox + "/sub/f\(n)")) }
        let all = WASIBrokerTests.entries(f.call("fd_readdir", [3, 4096, 0]).data)
        #expect(Set(all.map(\.name)) == [".", "..", "sub", "inside.txt"])
        #expect(all.first { $0.name == "sub" }?.type == WASIFileType.directory.rawValue)
        let sub = f.fd(f.open("sub", oflags: 2))
        let full = WASIBrokerTests.entries(f.call("fd_readdir", [sub, 65536, 0]).data)
        #expect(full.count == 23)
        // One small buffer at a time, resuming from each last whole entry's cookie: the same list.
        var walked: [String] = []
        var cookie: UInt64 = 0
        while true {
            let data = f.call("fd_readdir", [sub, 60, Int64(bitPattern: cookie)]).data
            let got = WASIBrokerTests.entries(data)
            if got.isEmpty { break }
            walked += got.map(\.name)
            cookie = got.last!.next
            if data.count < 60 { break }
        }
        #expect(walked == full.map(\.name))
        // A buffer shorter than one entry is filled to the byte: the caller sees bufused == buf_len.
        #expect(f.call("fd_readdir", [sub, 10, 0]).data.count == 10)
    }

    @Test func missingPreopenIsATypedError() throws {
        #expect(throws: CordonError.self) {
            _ = try WASIFileBroker(preopens: [WASIPreopen(hostPath: "/nonexistent/cordon", guestPath: "/")], policy: .standard,
                                   maxReplyBytes: 4096, identity: WASIBrokerIdentity(tenant: "t", plugin: "p", pid: 1),
                                   record: { _ in })
        }
    }
}
