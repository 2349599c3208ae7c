import CCordonShims
import CordonAudit
import CordonChannel
import CordonPolicy
import Glibc
import Synchronization

/// The answer to one brokered call: a WASI errno and, on success, the data of docs/wasi.md.
struct WASIReply: Equatable {
    var status: WASIErrno
    var data: [UInt8]

    static func ok(_ data: [UInt8] = []) -> WASIReply { WASIReply(status: .success, data: data) }
}

/// Who a broker works for, as its audit records name them.
struct WASIBrokerIdentity: Sendable {
    var tenant: String
    var plugin: String
    var pid: Int32
}

/// The supervisor's file system on behalf of one worker (gVisor's gofer is the model): the worker
/// has no file syscalls at all and asks; the broker owns the guest's fd table above stdio, resolves
/// every path in the kernel beneath a preopen (`BeneathResolution`) and answers with the WASI
/// layouts. Every byte of a request is hostile: counts, fds, lengths and offsets are checked and
/// bounded before use, and a request that does not fit gets `EINVAL`, never a crash.
///
/// Calls from one worker are serial (the worker blocks on each), so the table's lock is never
/// contended; it is there so the broker can be served from any pool thread.
final class WASIFileBroker: Sendable {
    let policy: WASIPolicy
    /// Largest `data` a reply may carry (the policy's `maxHostCallBytes`): reads are short beyond it.
    let maxReplyBytes: Int
    let identity: WASIBrokerIdentity
    /// Where read-only regular files are donated to the worker; nil when the policy does not donate.
    let donation: FileDonationSocket?
    private let record: @Sendable (AuditEvent) -> Void
    // Internal: the non-blocking fast path (WASIFileBroker+NonBlocking.swift) takes it too.
    let table: Mutex<WASIFileTable>
    private let writeLimitAudited = Atomic<Bool>(false)

    /// Opens each preopen once as an `O_PATH | O_DIRECTORY` fd, at guest fds 3, 4, … in order.
    /// `donationFD` is the supervisor's end of the worker's donation socket (owned by the
    /// `WorkerProcess`, closed after this broker), or -1.
    init(preopens: [WASIPreopen], policy: WASIPolicy, maxReplyBytes: Int, identity: WASIBrokerIdentity,
         donationFD: Int32 = -1, record: @escaping @Sendable (AuditEvent) -> Void) throws(CordonError) {
        self.policy = policy
        // The supervisor makes the socket only for a donating policy; the policy is asked again so
        // that a socket handed over by mistake can never donate against it (the worker's filter
        // would not let it receive, but nothing should be sent).
        self.donation = policy.donateReadOnlyFiles && donationFD >= 0 ? FileDonationSocket(fd: donationFD) : nil
        self.maxReplyBytes = max(maxReplyBytes, WASILayout.filestatSize)
        self.identity = identity
        self.record = record
        var files = WASIFileTable(capacity: Int(policy.maxOpenFiles))
        if preopens.count > files.capacity {
            throw .invalidConfiguration(field: "wasi.preopens",
                                        reason: "\(preopens.count) preopens exceed the policy's wasi.maxOpenFiles \(files.capacity)")
        }
        for (i, p) in preopens.enumerated() {
            let fd = Glibc.open(p.hostPath, CORDON_O_PATH | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                for f in files.removeAll() { Glibc.close(f.hostFD) }
                throw .invalidConfiguration(field: "wasi.preopens[\(i)].hostPath",
                                            reason: "cannot open '\(p.hostPath)' as a directory: \(Errno.describe(e))")
            }
            _ = files.insert(WASIOpenFile(hostFD: fd, type: .directory, preopenName: p.guestPath, readOnly: p.readOnly,
                                          rightsBase: WASIRights.directoryBase, rightsInheriting: WASIRights.all,
                                          fdflags: 0))
        }
        table = Mutex(files)
    }

    deinit { close() }

    /// Closes every host fd; later calls answer `EBADF`. Called when the worker dies.
    func close() {
        let files = table.withLock { $0.removeAll() }
        for f in files { Glibc.close(f.hostFD) }
    }

    /// The guest fds currently open (preopens included), for tests and metrics.
    var openFileCount: Int { table.withLock { $0.entries.count } }

    /// Serves `function`. Never throws: every failure is a WASI errno, and the refusals the broker
    /// decides on its own are audited as `fs.denied`.
    func serve(_ function: WASIBrokeredFunction, integers: [Int64], blobs: [[UInt8]]) -> WASIReply {
        let request = WASIRequest(integers: integers, blobs: blobs)
        do {
            return try table.withLock { files throws(WASIRefusal) in
                try dispatch(function, request, &files)
            }
        } catch {
            if error.denied { audit(denied: function, request: request, errno: error.errno) }
            return WASIReply(status: error.errno, data: [])
        }
    }

    private func dispatch(_ function: WASIBrokeredFunction, _ r: WASIRequest, _ t: inout WASIFileTable) throws(WASIRefusal) -> WASIReply {
        switch function {
        case .fdAdvise: return try advise(r, &t)
        case .fdAllocate: return try allocate(r, &t)
        case .fdClose: return try closeFD(r, &t)
        case .fdDatasync: return try sync(r, &t, dataOnly: true)
        case .fdSync: return try sync(r, &t, dataOnly: false)
        case .fdFdstatGet: return try fdstatGet(r, &t)
        case .fdFdstatSetFlags: return try fdstatSetFlags(r, &t)
        case .fdFdstatSetRights: return try fdstatSetRights(r, &t)
        case .fdFilestatGet: return try filestatGet(r, &t)
        case .fdFilestatSetSize: return try filestatSetSize(r, &t)
        case .fdFilestatSetTimes: return try filestatSetTimes(r, &t)
        case .fdPread: return try read(r, &t, positioned: true)
        case .fdRead: return try read(r, &t, positioned: false)
        case .fdPwrite: return try write(r, &t, positioned: true)
        case .fdWrite: return try write(r, &t, positioned: false)
        case .fdPrestatGet: return try prestatGet(r, &t)
        case .fdPrestatDirName: return try prestatDirName(r, &t)
        case .fdReaddir: return try readdir(r, &t)
        case .fdRenumber: return try renumber(r, &t)
        case .fdSeek: return try seek(r, &t)
        case .fdTell: return try tell(r, &t)
        case .pathCreateDirectory: return try createDirectory(r, &t)
        case .pathFilestatGet: return try pathFilestatGet(r, &t)
        case .pathFilestatSetTimes: return try pathFilestatSetTimes(r, &t)
        case .pathLink: return try link(r, &t)
        case .pathOpen: return try open(r, &t)
        case .pathReadlink: return try readlink(r, &t)
        case .pathRemoveDirectory: return try remove(r, &t, directory: true)
        case .pathRename: return try rename(r, &t)
        case .pathSymlink: return try symlink(r, &t)
        case .pathUnlinkFile: return try remove(r, &t, directory: false)
        }
    }

    // MARK: Shared checks

    /// The open file behind guest fd `fd`, which must hold every right in `rights`.
    func file(_ fd: Int32, _ t: WASIFileTable, rights: UInt64) throws(WASIRefusal) -> WASIOpenFile {
        guard let f = t[fd] else { throw .outcome(.badFileDescriptor) }
        if f.rightsBase & rights != rights { throw .deny(.notCapable) }
        return f
    }

    /// A directory fd for a path call: `ENOTDIR` for a file, then the right.
    func directory(_ fd: Int32, _ t: WASIFileTable, rights: UInt64) throws(WASIRefusal) -> WASIOpenFile {
        guard let f = t[fd] else { throw .outcome(.badFileDescriptor) }
        if !f.isDirectory { throw .outcome(.notDirectory) }
        if f.rightsBase & rights != rights { throw .deny(.notCapable) }
        return f
    }

    /// Mutations beneath a read-only preopen are refused, not attempted.
    func writable(_ f: WASIOpenFile) throws(WASIRefusal) {
        if f.readOnly { throw .deny(.readOnlyFileSystem) }
    }

    /// A host call's errno as a refusal.
    static func failure(_ e: Int32 = errno) -> WASIRefusal { .outcome(WASIErrno(hostErrno: e)) }

    // MARK: Audit

    /// Paths are recorded as data, bounded: the first 256 bytes, invalid UTF-8 replaced.
    static let auditedPathBytes = 256

    static func auditPath(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(auditedPathBytes), as: UTF8.self)
    }

    private func audit(denied function: WASIBrokeredFunction, request: WASIRequest, errno: WASIErrno) {
        let path = request.blobs.first.map(WASIFileBroker.auditPath)
        let target = request.blobs.count > 1 ? WASIFileBroker.auditPath(request.blobs[1]) : nil
        record(.fsDenied(tenant: identity.tenant, plugin: identity.plugin, pid: identity.pid, function: function.rawValue,
                         path: path ?? "", target: target, errno: errno.name))
    }

    func audit(opened path: [UInt8], read: Bool, write: Bool) {
        record(.fsOpen(tenant: identity.tenant, plugin: identity.plugin, pid: identity.pid,
                       path: WASIFileBroker.auditPath(path), read: read, write: write))
    }

    /// The write cap is recorded once per worker (a program looping on a refused write would
    /// otherwise flood the log); every refusal is still answered `EFBIG`.
    func audit(writeLimit measured: Int) {
        guard !writeLimitAudited.exchange(true, ordering: .relaxed) else { return }
        record(.limitBreach(tenant: identity.tenant, plugin: identity.plugin, pid: identity.pid,
                            limit: "wasi_write_bytes_per_call", value: Int64(clamping: policy.maxWriteBytesPerCall),
                            measured: Int64(measured), export: nil))
    }
}
