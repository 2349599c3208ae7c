#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The hash-chained, append-only audit log.
///
/// Appends are serialized by one mutex: each assigns the next `seq`, the time, `prev` and `hash`,
/// and writes the line with one `write(2)` to the active file (so a record that `append` returned
/// for survives a crash of this process). When it is *durable* (survives power loss) depends on
/// `AuditDurability`:
/// - `.fsyncEachRecord`: when `append` returns.
/// - `.groupCommit`: when `waitDurable(receipt)` (or `appendDurably`) returns; a background
///   committer fsyncs within `maxDelay` or once `maxBatch` records are pending, then rewrites the
///   head file.
/// `close()` makes everything durable and ends the log with `log.close`.
public final class AuditLog: Sendable {
    /// The configuration the log was opened with.
    public let configuration: AuditLogConfiguration
    /// What had to be repaired on open, nil if the existing log (or no log) was continued as is.
    public let recovery: AuditRecovery?
    /// `<log>.head`.
    public let headPath: String

    private let state: Mutex<State>
    /// Serializes head-file rewrites and keeps them monotonic (committer and rotation both write it).
    private let headSeqWritten: Mutex<UInt64>
    private let committer: GroupCommitter?
    /// `<log>.lock`, held with `flock(LOCK_EX)` while the log is open (released by `close()`,
    /// `deinit`, or the kernel when the process dies).
    private let lock: Atomic<Int32>

    struct Waiter {
        var seq: UInt64
        var continuation: CheckedContinuation<Result<Void, AuditError>, Never>
    }

    struct State: ~Copyable {
        var file: FileAuditSink?
        var fileBytes: Int
        var fileFirstSeq: UInt64
        var fileFirstTime: AuditTimestamp?
        var lastSeq: UInt64
        var lastHash: String
        var durableSeq: UInt64
        var pendingCount = 0
        var batchStarted: ContinuousClock.Instant?
        var committing = false
        var failure: AuditError?
        var closed = false
        var waiters: [Waiter] = []
        var subscribers: [UInt64: AsyncStream<AuditRecord>.Continuation] = [:]
        var nextSubscriber: UInt64 = 0
        var sinkFailures = 0
        var lastSinkError = ""
    }

    /// Opens (creating if needed) the log at `configuration.path` and continues its chain.
    ///
    /// On open the tail of the existing log is checked: an incomplete or unparsable final line is
    /// moved to `<log>.torn-<time>` and an `audit.recovered` record is appended; a rotation that
    /// was interrupted after its `log.rotate` record is completed. If the head file names a later
    /// record than the log holds, records were removed: the log is not touched and
    /// `AuditError.anchorMismatch` is thrown, because continuing would bury the evidence.
    public init(configuration: AuditLogConfiguration) throws(AuditError) {
        if case .groupCommit(let delay, let batch) = configuration.durability, batch < 1 || delay < .zero {
            throw .invalidConfiguration("groupCommit needs maxBatch ≥ 1 and maxDelay ≥ 0")
        }
        if let m = configuration.rotation.maxBytes, m < 1 { throw .invalidConfiguration("rotation.maxBytes < 1") }
        self.configuration = configuration
        let path = configuration.path
        headPath = AuditHead.path(forLog: path)

        let lockPath = path + ".lock"
        let lockFD: Int32
        do { lockFD = try FileIO.open(lockPath, O_RDWR | O_CREAT, 0o600) } catch {
            throw .open(path: lockPath, errno: error)
        }
        // A process being spawned holds a copy of our descriptors between fork and exec, and with
        // them the lock of a log that was just closed; retry briefly before declaring it taken.
        var attempts = 0
        while flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            attempts += 1
            if e == EINTR || (e == EWOULDBLOCK && attempts < 250) {
                usleep(2000)
                continue
            }
            Glibc.close(lockFD)
            if e == EWOULDBLOCK { throw .locked(path: path) }
            throw .open(path: lockPath, errno: AuditErrno(rawValue: e))
        }
        lock = Atomic(lockFD)
        let opened: Opened
        do { opened = try AuditLog.openAndRecover(configuration) } catch {
            Glibc.close(lockFD)
            throw error
        }
        recovery = opened.recovery
        state = Mutex(State(file: opened.file, fileBytes: opened.fileBytes, fileFirstSeq: opened.fileFirstSeq,
                            fileFirstTime: opened.fileFirstTime, lastSeq: opened.lastSeq, lastHash: opened.lastHash,
                            durableSeq: opened.lastSeq))
        headSeqWritten = Mutex(opened.headSeq)
        if case .groupCommit = configuration.durability {
            committer = GroupCommitter()
        } else {
            committer = nil
        }
        // The recovered tail is durable now (openAndRecover fsynced it); anchor it.
        try writeHead(seq: opened.lastSeq, hash: opened.lastHash)
        // Record each moved tail in the chain, then give its file the final name. Until the rename,
        // the `.pending` suffix tells the next open that the record may not have been written.
        for tail in opened.recovery?.moved ?? [] {
            if !opened.alreadyRecorded.contains(tail.movedTo) {
                try state.withLock { s throws(AuditError) in
                    _ = try appendLocked(&s, .auditRecovered(tornBytes: tail.bytes, movedTo: tail.movedTo))
                    try commitLocked(&s)
                }
            }
            try AuditLog.finishTornFile(tail.movedTo)
        }
        committer?.start { [weak self] in self?.commitIfDue() }
    }

    deinit {
        committer?.stopDetached()
        releaseLock()
    }

    private func releaseLock() {
        let fd = lock.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }

    // MARK: - Appending

    /// Appends `event` and returns its receipt.
    ///
    /// On return the record has been written to the file (it survives a crash of this process);
    /// with `.fsyncEachRecord` it is also durable, with `.groupCommit` it is durable once
    /// `waitDurable(_:)` returns. A `hostcall` event excluded by `hostCallSampling` is not written
    /// and yields `AuditReceipt.sampledOut`. Throws `.write`/`.sync` if the file cannot be written
    /// (and `health` becomes `.failed`), `.closed` after `close()`, `.reservedType` for types only
    /// the log writes.
    @discardableResult
    public func append(_ event: AuditEvent) throws(AuditError) -> AuditReceipt {
        if event.type.isReservedForLog { throw .reservedType(event.type) }
        if event.type == .hostcall, !sampled(event) { return .sampledOut }
        if let field = event.type.firstSchemaViolation(in: event.data) {
            throw .invalidEvent(type: event.type, field: "data." + field)
        }
        if let pid = event.worker, pid <= 0 { throw .invalidEvent(type: event.type, field: "worker") }
        let (receipt, signalCommitter) = try state.withLock { s throws(AuditError) -> (AuditReceipt, Bool) in
            let receipt = try appendLocked(&s, event)
            switch configuration.durability {
            case .fsyncEachRecord:
                try commitLocked(&s)
                return (receipt, false)
            case .groupCommit(_, let maxBatch):
                s.pendingCount += 1
                if s.batchStarted == nil {
                    s.batchStarted = .now
                    return (receipt, true)
                }
                return (receipt, s.pendingCount == maxBatch)
            }
        }
        if signalCommitter { committer?.signal() }
        return receipt
    }

    /// Appends `event` and returns once it is durable (see `append` and `waitDurable`).
    @discardableResult
    public func appendDurably(_ event: AuditEvent) async throws(AuditError) -> AuditReceipt {
        let receipt = try append(event)
        try await waitDurable(receipt)
        return receipt
    }

    /// Returns once the record of `receipt` (and every earlier one) is on stable storage: the file
    /// has been fsynced past it and the head file rewritten. Returns at once for
    /// `.fsyncEachRecord`, for sampled-out receipts and for records already committed. Throws if
    /// a commit fails before that point (`.sync`, `.head`) or the log was closed in a failed state.
    public func waitDurable(_ receipt: AuditReceipt) async throws(AuditError) {
        guard receipt.isRecorded else { return }
        let result: Result<Void, AuditError> = await withCheckedContinuation { continuation in
            let immediate: Result<Void, AuditError>? = state.withLock { s in
                if s.durableSeq >= receipt.seq { return .success(()) }
                if let f = s.failure, !AuditLog.canStillCommit(f) { return .failure(f) }
                if s.closed { return .failure(s.failure ?? .closed) }
                s.waiters.append(Waiter(seq: receipt.seq, continuation: continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
        try result.get()
    }

    /// A live feed of records appended after subscribing, for in-process consumers; any number of
    /// subscribers. Each stream buffers `configuration.streamBufferSize` records and drops the
    /// oldest beyond that (a gap in `seq` shows it). Streams finish at `close()`.
    public var records: AsyncStream<AuditRecord> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: AuditRecord.self, bufferingPolicy: .bufferingNewest(max(1, configuration.streamBufferSize)))
        let id: UInt64? = state.withLock { s in
            if s.closed { return nil }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = continuation
            return id
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    // MARK: - State

    /// Whether the trail is being written; `.failed` means appends throw until `resume()`.
    public var health: AuditHealth {
        state.withLock { s in
            if let f = s.failure { return .failed(f) }
            if s.sinkFailures > 0 { return .degraded(sinkFailures: s.sinkFailures, lastError: s.lastSinkError) }
            return .healthy
        }
    }

    /// True when the supervisor should refuse new plugin loads: the log is failing and the
    /// configured `failurePolicy` is `.refuseNewLoads`.
    public var shouldRefuseNewLoads: Bool {
        configuration.failurePolicy == .refuseNewLoads && !health.isWriting
    }

    /// Seq of the last record written (0 before the first).
    public var lastSequence: UInt64 { state.withLock { $0.lastSeq } }

    /// Seq of the last record known durable.
    public var durableSequence: UInt64 { state.withLock { $0.durableSeq } }

    /// Whether a `hostcall` event passes `hostCallSampling`.
    private func sampled(_ event: AuditEvent) -> Bool {
        guard let status = event.data["status"]?.stringValue.flatMap(HostCallStatus.init(rawValue:)) else {
            return true  // malformed: record it rather than hide it
        }
        return configuration.hostCallSampling.records(status)
    }

    /// After a `.write` failure, earlier records are intact and can still be committed.
    private static func canStillCommit(_ failure: AuditError) -> Bool {
        if case .write = failure { return true }
        return false
    }

    // MARK: - Recovery from failure

    /// Leaves the `.failed` state if the file can be written and synced again: cuts off any
    /// partially written line, fsyncs, then appends an `audit.error` record naming the failure so
    /// the outage is visible in the trail itself. Throws (and stays failed) if storage still fails.
    public func resume() throws(AuditError) {
        try state.withLock { s throws(AuditError) in
            guard let failure = s.failure else { return }
            if s.closed { throw .closed }
            guard let file = s.file else { throw .closed }
            try file.truncate(to: s.fileBytes)
            try file.fsync()
            s.failure = nil
            let (operation, errno) = AuditLog.describe(failure)
            _ = try appendLocked(&s, .auditError(tenant: nil, operation: operation, errno: errno))
            try commitLocked(&s)
        }
    }

    private static func describe(_ e: AuditError) -> (String, Int32) {
        switch e {
        case .write(let n): return ("write", n.rawValue)
        case .sync(let n): return ("fsync", n.rawValue)
        case .rotate(_, let n): return ("rotate", n.rawValue)
        case .head(_, let n): return ("head", n.rawValue)
        case .open(_, let n): return ("open", n.rawValue)
        case .read(_, let n): return ("read", n.rawValue)
        default: return ("audit", 0)
        }
    }

    // MARK: - Closing

    /// Ends the log: stops the committer, appends `log.close`, fsyncs, rewrites the head file and
    /// closes the file; subscribers' streams finish. Idempotent. If the log is `.failed` no
    /// `log.close` is written (the trail did not end cleanly) and the failure is thrown.
    public func close() throws(AuditError) {
        committer?.stop()
        var finishing: [AsyncStream<AuditRecord>.Continuation] = []
        // Streams are finished outside the lock: `finish()` runs `onTermination`, which takes it.
        defer { for c in finishing { c.finish() } }
        try state.withLock { s throws(AuditError) in
            guard !s.closed else { return }
            var error: AuditError? = s.failure
            if let failure = error, AuditLog.canStillCommit(failure), let file = s.file {
                // The records before a failed write are intact: make them durable and anchor them.
                do throws(AuditError) {
                    try file.fsync()
                    try writeHead(seq: s.lastSeq, hash: s.lastHash)
                    markDurable(&s, s.lastSeq)
                } catch {}
            } else if error == nil {
                do throws(AuditError) {
                    _ = try appendLocked(&s, .logClose())
                    try commitLocked(&s)
                } catch let e {
                    error = e
                }
            }
            s.closed = true
            for w in s.waiters {
                w.continuation.resume(returning: w.seq <= s.durableSeq ? .success(()) : .failure(error ?? .closed))
            }
            s.waiters.removeAll()
            finishing = Array(s.subscribers.values)
            s.subscribers.removeAll()
            s.file?.close()
            s.file = nil
            releaseLock()
            if let error { throw error }
        }
    }

    // MARK: - Internals (called with the state lock held)

    /// Assigns seq/time/prev/hash, rotates first if due, writes the line, fans out.
    private func appendLocked(_ s: inout State, _ event: AuditEvent) throws(AuditError) -> AuditReceipt {
        if s.closed { throw .closed }
        if let f = s.failure { throw f }
        let time = AuditTimestamp.now()
        if event.type != .logRotate, rotationDue(s, now: time) {
            try rotateLocked(&s, time: time)
        }
        let (record, line) = AuditRecord.seal(seq: s.lastSeq + 1, time: time, event: event,
                                              tenant: event.tenant ?? configuration.defaultTenant, prev: s.lastHash)
        try writeLocked(&s, record, line)
        return AuditReceipt(seq: record.seq, hash: record.hash)
    }

    private func writeLocked(_ s: inout State, _ record: AuditRecord, _ line: [UInt8]) throws(AuditError) {
        guard let file = s.file else { throw .closed }
        do {
            try file.append(line)
        } catch {
            // A short write may have left part of the line; cut it off so the file stays a valid
            // chain (if this fails too, recovery on next open moves the fragment aside).
            try? file.truncate(to: s.fileBytes)
            s.failure = error
            throw error
        }
        s.fileBytes += line.count
        s.lastSeq = record.seq
        s.lastHash = record.hash
        if s.fileFirstTime == nil {
            s.fileFirstTime = record.time
            s.fileFirstSeq = record.seq
        }
        for sink in configuration.sinks {
            do { try sink.write(line, record: record) } catch {
                s.sinkFailures += 1
                s.lastSinkError = "\(error)"
            }
        }
        for c in s.subscribers.values { c.yield(record) }
    }

    /// fsync + head rewrite with the lock held (fsync-each mode, rotation, close).
    private func commitLocked(_ s: inout State) throws(AuditError) {
        guard let file = s.file else { throw .closed }
        do {
            try file.fsync()
            syncSecondarySinks(&s)
            try writeHead(seq: s.lastSeq, hash: s.lastHash)
        } catch {
            s.failure = error
            failWaiters(&s, error)
            throw error
        }
        markDurable(&s, s.lastSeq)
        s.pendingCount = 0
        s.batchStarted = nil
    }

    private func syncSecondarySinks(_ s: inout State) {
        for sink in configuration.sinks {
            do { try sink.sync() } catch {
                s.sinkFailures += 1
                s.lastSinkError = "\(error)"
            }
        }
    }

    private func markDurable(_ s: inout State, _ seq: UInt64) {
        guard seq > s.durableSeq else { return }
        s.durableSeq = seq
        guard !s.waiters.isEmpty else { return }
        var remaining: [Waiter] = []
        for w in s.waiters {
            if w.seq <= seq { w.continuation.resume(returning: .success(())) } else { remaining.append(w) }
        }
        s.waiters = remaining
    }

    private func failWaiters(_ s: inout State, _ error: AuditError) {
        for w in s.waiters { w.continuation.resume(returning: .failure(error)) }
        s.waiters.removeAll()
    }

    private func writeHead(seq: UInt64, hash: String) throws(AuditError) {
        let path = headPath
        try headSeqWritten.withLock { written throws(AuditError) in
            // Never move the anchor backwards (a slow committer may finish after a rotation).
            guard seq > written || (seq == 0 && written == 0) else { return }
            try AuditHead(seq: seq, hash: hash).write(to: path)
            written = seq
        }
    }

    // MARK: - Group commit

    /// One committer step: fsync if the batch is due; returns how long to sleep (nil: log gone).
    private func commitIfDue() -> Duration? {
        guard case .groupCommit(let maxDelay, let maxBatch) = configuration.durability else { return nil }
        enum Step { case sleep(Duration), commit(FileAuditSink, UInt64, String) }
        let now = ContinuousClock.now
        let step: Step = state.withLock { s in
            guard !s.closed, !s.committing, s.lastSeq > s.durableSeq, let file = s.file else {
                return .sleep(.milliseconds(100))
            }
            if let f = s.failure, !AuditLog.canStillCommit(f) { return .sleep(.milliseconds(100)) }
            let started = s.batchStarted ?? now
            if s.pendingCount < maxBatch, now - started < maxDelay {
                return .sleep(maxDelay - (now - started))
            }
            s.committing = true
            s.pendingCount = 0
            s.batchStarted = nil
            return .commit(file, s.lastSeq, s.lastHash)
        }
        guard case .commit(let file, let seq, let hash) = step else {
            if case .sleep(let d) = step { return d }
            return nil
        }
        // fsync and head rewrite happen outside the lock so appends continue meanwhile.
        var error: AuditError?
        do throws(AuditError) {
            try file.fsync()
            try writeHead(seq: seq, hash: hash)
        } catch let e {
            error = e
        }
        state.withLock { s in
            s.committing = false
            if let error {
                s.failure = error
                failWaiters(&s, error)
            } else {
                syncSecondarySinks(&s)
                markDurable(&s, seq)
            }
        }
        // More may have arrived during the fsync; re-check soon.
        return .zero
    }

    // MARK: - Rotation

    private func rotationDue(_ s: borrowing State, now: AuditTimestamp) -> Bool {
        guard s.fileBytes > 0 else { return false }
        if let maxBytes = configuration.rotation.maxBytes, s.fileBytes >= maxBytes { return true }
        if let maxAge = configuration.rotation.maxAge, let first = s.fileFirstTime {
            let age = Duration.seconds(now.seconds - first.seconds)
                + .nanoseconds(Int64(now.nanoseconds) - Int64(first.nanoseconds))
            if age >= maxAge { return true }
        }
        return false
    }

    /// `<log>.<first seq, 20 digits>`: zero-padded so `ls` sorts archives in chain order.
    static func archivePath(_ path: String, firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return path + "." + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// Ends the active file with `log.rotate`, makes it durable, renames it to its archive name and
    /// starts a new active file whose first record will chain to `log.rotate`'s hash.
    private func rotateLocked(_ s: inout State, time: AuditTimestamp) throws(AuditError) {
        let path = configuration.path
        let (record, line) = AuditRecord.seal(seq: s.lastSeq + 1, time: time,
                                              event: .logRotate(nextFile: FileIO.basename(path)),
                                              tenant: configuration.defaultTenant, prev: s.lastHash)
        try writeLocked(&s, record, line)
        try commitLocked(&s)
        do {
            try AuditLog.finishRotation(path: path, firstSeq: s.fileFirstSeq)
        } catch {
            s.failure = error
            throw error
        }
        do {
            s.file = try FileAuditSink(path: path)
        } catch {
            s.file = nil
            s.failure = error
            throw error
        }
        s.fileBytes = 0
        s.fileFirstSeq = s.lastSeq + 1
        s.fileFirstTime = nil
    }

    /// Renames the active file to its archive name and fsyncs the directory.
    static func finishRotation(path: String, firstSeq: UInt64) throws(AuditError) {
        let archive = archivePath(path, firstSeq: firstSeq)
        if FileIO.exists(archive) { throw .rotate(path: archive, errno: AuditErrno(rawValue: EEXIST)) }
        guard rename(path, archive) == 0 else { throw .rotate(path: path, errno: .current) }
        do { try FileIO.fsyncDirectory(FileIO.directory(of: path)) } catch {
            throw .rotate(path: path, errno: error)
        }
    }

    // MARK: - Open and recover

    struct Opened {
        var file: FileAuditSink
        var fileBytes: Int
        var fileFirstSeq: UInt64
        var fileFirstTime: AuditTimestamp?
        var lastSeq: UInt64
        var lastHash: String
        var headSeq: UInt64
        var recovery: AuditRecovery?
        /// Torn files whose `audit.recovered` record is already the log's last record.
        var alreadyRecorded: Set<String> = []
    }

    /// Archives of `path`, highest first seq last.
    static func archives(of path: String) -> [(seq: UInt64, path: String)] {
        let dir = FileIO.directory(of: path)
        let prefix = FileIO.basename(path) + "."
        guard let names = try? FileIO.listDirectory(dir) else { return [] }
        return names.compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix(prefix) else { return nil }
            let suffix = name.dropFirst(prefix.count)
            guard suffix.count == 20, suffix.allSatisfy(\.isASCII), let n = UInt64(suffix) else { return nil }
            return (n, dir + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    private static func openAndRecover(_ configuration: AuditLogConfiguration) throws(AuditError) -> Opened {
        let path = configuration.path
        let head = try AuditHead.read(path: AuditHead.path(forLog: path))
        var scan = try LogFileScan.scan(path: path) ?? LogFileScan(lastGood: nil, goodLength: 0, tornBytes: 0, first: nil)

        // Where the chain ends: the active file's last good record, else the newest archive's.
        var last = scan.lastGood
        if last == nil, let newest = archives(of: path).last {
            guard let archived = try LogFileScan.scan(path: newest.path), archived.tornBytes == 0,
                  let r = archived.lastGood else {
                throw .corrupt(path: newest.path, reason: "rotated file does not end with a complete record")
            }
            last = r
        }
        let lastSeq = last?.seq ?? 0
        let lastHash = last?.hash ?? AuditRecord.genesisHash

        // Check the anchor before changing anything.
        if let head {
            if head.seq > lastSeq || (head.seq == lastSeq && head.hash != lastHash) {
                throw .anchorMismatch(headSeq: head.seq, logSeq: lastSeq)
            }
        }

        // Tails moved aside by a previous open that was interrupted before finishing.
        var moved: [AuditTornTail] = []
        var alreadyRecorded: Set<String> = []
        for pending in pendingTornFiles(of: path) {
            let final = String(pending.dropLast(pendingSuffix.count))
            if let l = scan.lastGood, l.type == .auditRecovered, l.data["moved_to"] == .string(final) {
                alreadyRecorded.insert(final)
            }
            let size: Int
            do {
                let fd = try FileIO.open(pending, O_RDONLY)
                defer { Glibc.close(fd) }
                size = try FileIO.size(fd)
            } catch {
                throw .read(path: pending, errno: error)
            }
            moved.append(AuditTornTail(bytes: size, movedTo: final))
        }
        if scan.tornBytes > 0 {
            let movedTo = try moveTornTail(path: path, from: scan.goodLength, count: scan.tornBytes)
            moved.append(AuditTornTail(bytes: scan.tornBytes, movedTo: movedTo))
            scan.tornBytes = 0
        }
        var recovery: AuditRecovery? = moved.isEmpty ? nil
            : AuditRecovery(moved: moved, completedRotation: false, resumedAfterSeq: lastSeq)

        var file = try FileAuditSink(path: path)
        var fileBytes = try file.size()
        var firstSeq = scan.first?.seq ?? lastSeq + 1
        var firstTime = scan.first?.time
        if fileBytes == 0 {
            firstSeq = lastSeq + 1
            firstTime = nil
        }

        // A rotation interrupted after its log.rotate record: finish it.
        if let l = scan.lastGood, l.type == .logRotate, fileBytes > 0 {
            try file.fsync()
            file.close()
            try finishRotation(path: path, firstSeq: scan.first?.seq ?? l.seq)
            file = try FileAuditSink(path: path)
            fileBytes = 0
            firstSeq = lastSeq + 1
            firstTime = nil
            var r = recovery ?? AuditRecovery(moved: [], completedRotation: false, resumedAfterSeq: lastSeq)
            r.completedRotation = true
            recovery = r
        }
        // Whatever the previous run wrote (possibly not yet fsynced) becomes durable before we
        // anchor it in the head file.
        try file.fsync()
        return Opened(file: file, fileBytes: fileBytes, fileFirstSeq: firstSeq, fileFirstTime: firstTime,
                      lastSeq: lastSeq, lastHash: lastHash, headSeq: head?.seq ?? 0, recovery: recovery,
                      alreadyRecorded: alreadyRecorded)
    }

    /// Suffix of a torn file whose `audit.recovered` record may not be in the log yet.
    static let pendingSuffix = ".pending"

    /// `<log>.torn-*.pending` files, oldest first.
    static func pendingTornFiles(of path: String) -> [String] {
        let dir = FileIO.directory(of: path)
        let prefix = FileIO.basename(path) + ".torn-"
        let names = (try? FileIO.listDirectory(dir)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(pendingSuffix) }.sorted().map { dir + "/" + $0 }
    }

    /// Renames `<final>.pending` to `<final>` once its `audit.recovered` record is durable.
    static func finishTornFile(_ final: String) throws(AuditError) {
        guard rename(final + pendingSuffix, final) == 0 else { throw .write(.current) }
        do { try FileIO.fsyncDirectory(FileIO.directory(of: final)) } catch { throw .write(error) }
    }

    /// Copies `count` bytes at `from` to `<log>.torn-<time>.pending`, fsyncs it, then truncates the
    /// log. Returns the final name (without `.pending`).
    private static func moveTornTail(path: String, from offset: Int, count: Int) throws(AuditError) -> String {
        var stamp = AuditTimestamp.now().description
        stamp.removeAll { $0 == ":" || $0 == "-" }
        var target = path + ".torn-" + stamp
        var n = 1
        while FileIO.exists(target) || FileIO.exists(target + pendingSuffix) {
            target = path + ".torn-" + stamp + "-\(n)"
            n += 1
        }
        do throws(AuditErrno) {
            let src = try FileIO.open(path, O_RDWR)
            defer { Glibc.close(src) }
            let bytes = try FileIO.pread(src, offset: offset, count: count)
            let dst = try FileIO.open(target + pendingSuffix, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            do throws(AuditErrno) {
                try FileIO.writeAll(dst, bytes)
                try FileIO.fsync(dst)
            } catch {
                Glibc.close(dst)
                throw error
            }
            Glibc.close(dst)
            try FileIO.fsyncDirectory(FileIO.directory(of: path))
            // Only now that the copy is durable may the original bytes go.
            guard ftruncate(src, off_t(offset)) == 0 else { throw AuditErrno.current }
            try FileIO.fsync(src)
        } catch {
            throw .write(error)
        }
        return target
    }
}
