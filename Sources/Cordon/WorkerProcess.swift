import CCordonShims
import CordonChannel
import CordonJail
import CordonPolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a worker process ended, from `waitid` on its pidfd: the kernel's word, not the worker's.
enum WorkerExit: Sendable, Hashable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(signal: Int32, coreDumped: Bool)

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal, let core): "killed by \(Self.signalName(signal))\(core ? " (core dumped)" : "")"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGSYS: "SIGSYS"
        case SIGXCPU: "SIGXCPU"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGBUS: "SIGBUS"
        case SIGTERM: "SIGTERM"
        case SIGXFSZ: "SIGXFSZ"
        default: "signal \(signal)"
        }
    }
}

/// One confined worker process, seen from the supervisor: its pidfd, its channel and its seccomp
/// listener. Reactor-thread only. Spawned with clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|namespaces)
/// + exec from C, so the child gets PDEATHSIG before exec and there is no pid-reuse race.
final class WorkerProcess {
    let pid: pid_t
    let pidfd: CInt
    let channel: SharedMemoryBuffer
    let slot: UInt32
    /// The uid range `slot` belongs to (slots are allocated per range: UidSlots).
    let uidRange: UidRange
    let uid: UInt32
    let spawnedAt: ContinuousClock.Instant
    /// The supervisor's copy of the worker's seccomp user-notification listener.
    var listenerFD: CInt = -1
    var achievedLayers: [String] = []
    var seccompMode = "notify"
    private(set) var exit: WorkerExit?
    /// Why the supervisor killed it, when it did; nil means it died on its own or was killed from outside.
    var killReason: String?
    /// Read end of the pipe that is the worker's fd 2 (`passWorkerStderr`), or -1.
    var stderrFD: CInt = -1
    /// Whether the reactor forwards `stderrFD` (it then closes it at end of file).
    var stderrForwarded = false
    /// The WASI file broker serving this worker's `wasi.*` calls; opened at bootstrap.
    var wasiBroker: WASIFileBroker?
    /// The supervisor's end of the donation socket (the worker's fd 6), or -1 when the policy does not
    /// donate files. Only the broker sends on it; nothing ever reads it.
    var donationFD: CInt = -1
    /// Frames for the worker that the ring could not take yet (the module, mostly).
    var outbox = Outbox()
    /// How the reactor looks at this worker's ring while an answer is due, and arms its doorbell
    /// before it sleeps (`SupervisorCore.expectReply`): made once, not per call.
    lazy var answerProbes: (ready: () -> Bool, arm: () -> Bool) = { [channel] in
        (ready: { channel.hasInput }, arm: { channel.prepareToSleep(drainingDoorbell: false) })
    }()
    /// The supervisor asked it to stop (`shutdown` sent): from then on it may report a failed
    /// `cordon_cleanup`, once (`cleanupReported`).
    var shutdownSent = false
    var cleanupReported = false

    private init(pid: pid_t, pidfd: CInt, channel: SharedMemoryBuffer, slot: UInt32, uidRange: UidRange, uid: UInt32) {
        self.pid = pid
        self.pidfd = pidfd
        self.channel = channel
        self.slot = slot
        self.uidRange = uidRange
        self.uid = uid
        self.spawnedAt = .now
    }

    /// Spawns a worker confined by `policy` in uid slot `slot`, trying the namespace sets the policy
    /// allows in order (everything first; degraded sets only where the policy marks them optional).
    static func spawn(executable: WorkerBinary, policy: SandboxPolicy, slot: UInt32, channelConfiguration: ChannelConfiguration,
                      cpuSeconds: UInt64, passStderr: Bool, arguments: [String] = [],
                      filter: [UInt8]? = nil) throws(CordonError) -> WorkerProcess {
        let channel: SharedMemoryBuffer
        do { channel = try SharedMemoryBuffer.create(configuration: channelConfiguration) } catch {
            throw .spawnFailed(step: "channel: \(error)", errno: 0)
        }
        // Until a worker owns them, every exit (each throw, the failed attempts) releases what was made.
        var handedOver = false
        defer { if !handedOver { channel.close() } }
        let root = geteuid() == 0
        var effective = policy
        if cpuSeconds > 0 {
            effective.rlimits.cpuSecondsSoft = min(effective.rlimits.cpuSecondsSoft, cpuSeconds)
            effective.rlimits.cpuSecondsHard = max(effective.rlimits.cpuSecondsSoft, min(effective.rlimits.cpuSecondsHard, cpuSeconds + 1))
        }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw .spawnFailed(step: "open /dev/null", errno: errno) }
        defer { close(devNull) }
        // The worker's stderr is a pipe the supervisor drains, never the supervisor's own fd 2: with
        // RLIMIT_FSIZE 0, a worker writing to a regular file would die of SIGXFSZ.
        var stderrPipe: [CInt] = [-1, -1]
        if passStderr {
            guard cordon_pipe_cloexec(&stderrPipe) == 0 else { throw .spawnFailed(step: "pipe2(stderr)", errno: errno) }
            _ = fcntl(stderrPipe[0], F_SETFL, fcntl(stderrPipe[0], F_GETFL) | O_NONBLOCK)
        }
        defer {
            if stderrPipe[1] >= 0 { close(stderrPipe[1]) }
            if !handedOver, stderrPipe[0] >= 0 { close(stderrPipe[0]) }
        }
        // The donation socket (docs/wasi.md): the worker's end becomes its fd 6, the supervisor's end
        // goes to the broker. Only when the policy donates, so no other worker holds the fd at all.
        var donation: [CInt] = [-1, -1]
        if effective.wasi.donateReadOnlyFiles {
            guard cordon_seqpacket_pair(&donation) == 0 else { throw .spawnFailed(step: "socketpair(donation)", errno: errno) }
        }
        defer {
            if donation[1] >= 0 { close(donation[1]) }
            if !handedOver, donation[0] >= 0 { close(donation[0]) }
        }
        let attempts = NamespacePlanner.attempts(for: effective.namespaces, runningAsRoot: root)
        var lastError: CordonError = .spawnFailed(step: "namespaces: no permitted set", errno: EPERM)
        var refusedNamespaces = false
        for (index, namespaces) in attempts.enumerated() {
            let plan: ConfinementPlan
            do {
                plan = try PolicyCompiler.compile(effective, slot: slot, supervisorPID: getpid(),
                                                  createdNamespaces: namespaces, runningAsRoot: root, filter: filter)
            } catch { throw .confinementFailed(detail: "compiling the policy: \(error)") }
            // Without root the worker unshares its namespaces itself, where a refusal would only show
            // as a dead worker: ask the kernel first, and degrade here as the clone path does.
            if !root, !plan.workerNamespaces.isEmpty, let refusal = NamespaceProbe.refusal(of: plan.workerNamespaces) {
                lastError = .spawnFailed(step: "unshare\(plan.workerNamespaces) (probe)", errno: refusal)
                refusedNamespaces = true
                if index == attempts.count - 1 { break }
                continue
            }
            let planFD = try Self.sealedMemfd(plan.encoded())
            defer { close(planFD) }
            // Positions are the worker's fd numbers: 3 channel, 4 doorbell, 5 plan (ConfinementPlan.inheritedFD),
            // 6 donation socket (WASIPolicy.donationSocketFD; -1 leaves it closed).
            let fds: [CInt] = [devNull, devNull, passStderr ? stderrPipe[1] : devNull, channel.memfd, channel.doorbellFD, planFD,
                               donation[1]]
            let result = executable.path.withCString { path -> cordon_spawn_result in
                let argvStrings = (["cordon-worker"] + arguments).map { strdup($0) }
                let env0 = strdup("SWIFT_BACKTRACE=enable=no")
                defer { argvStrings.forEach { free($0) }; free(env0) }
                var argv: [UnsafeMutablePointer<CChar>?] = argvStrings + [nil]
                var envp: [UnsafeMutablePointer<CChar>?] = [env0, nil]
                return fds.withUnsafeBufferPointer { fdBuffer in
                    argv.withUnsafeMutableBufferPointer { argvBuffer in
                        envp.withUnsafeMutableBufferPointer { envpBuffer in
                            var request = cordon_spawn_request(
                                path: path, argv: argvBuffer.baseAddress, envp: envpBuffer.baseAddress,
                                fds: fdBuffer.baseAddress, nfds: CInt(fds.count),
                                clone_flags: plan.cloneNamespaces.cloneFlags, death_signal: SIGKILL)
                            // A root supervisor execs the binary it opened and checked (WorkerBinary).
                            return cordon_spawn_fd(&request, executable.fd)
                        }
                    }
                }
            }
            if result.pid > 0 {
                channel.setPeer(pidfd: result.pidfd)
                let uid = root ? effective.identity.uidRangeStart + slot : geteuid()
                let process = WorkerProcess(pid: result.pid, pidfd: result.pidfd, channel: channel, slot: slot,
                                            uidRange: UidRange(effective.identity), uid: uid)
                process.stderrFD = stderrPipe[0]
                process.donationFD = donation[0]
                handedOver = true
                return process
            }
            let step = result.step.map { String(cString: $0) } ?? "spawn"
            lastError = .spawnFailed(step: step, errno: result.err)
            // Only the kernel refusing a namespace is worth a degraded retry.
            let namespaceRefusal = step == "clone" && [EPERM, EINVAL, ENOSPC, EUSERS].contains(result.err)
            refusedNamespaces = namespaceRefusal
            if !namespaceRefusal || index == attempts.count - 1 { break }
        }
        // Every permitted set was refused by the kernel. When the floor is what kept the last attempt
        // from degrading further, say which layers are missing and how a policy opts out of them.
        let floor = NamespaceSet.heldByFloor(effective.namespaces).subtracting(root ? [.user] : [])
        if refusedNamespaces, !floor.isEmpty, let last = attempts.last, !last.isDisjoint(with: floor) {
            throw .confinementFailed(detail: "policy \(effective.name): the kernel refused \(floor.layerNames.joined(separator: " and ")) " +
                                     "(\(lastError)); the policy does not run a worker without them. Opt into degradation " +
                                     "with \"namespaces\": {\"allowDegraded\": true}, or disable them in the policy")
        }
        throw lastError
    }

    private static func sealedMemfd(_ bytes: [UInt8]) throws(CordonError) -> CInt {
        let fd = cordon_memfd_create("cordon-plan", CORDON_MFD_CLOEXEC | CORDON_MFD_ALLOW_SEALING)
        guard fd >= 0 else { throw .spawnFailed(step: "memfd_create(plan)", errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw .spawnFailed(step: "write(plan)", errno: e)
            }
            offset += n
        }
        _ = lseek(fd, 0, SEEK_SET)
        // The worker may read the plan but never change it for a sibling.
        _ = fcntl(fd, CORDON_F_ADD_SEALS, CORDON_F_SEAL_WRITE | CORDON_F_SEAL_GROW | CORDON_F_SEAL_SHRINK | CORDON_F_SEAL_SEAL)
        return fd
    }

    /// Sends `signal` through the pidfd (cannot hit a recycled pid).
    func kill(_ signal: Int32 = SIGKILL, reason: String) {
        if killReason == nil { killReason = reason }
        _ = cordon_pidfd_send_signal(pidfd, signal)
    }

    /// Sends a job-control signal (SIGSTOP, SIGCONT) through the pidfd: unlike `kill`, it records no
    /// kill reason. Returns nil, or the errno when the kernel refused (ESRCH: it has already exited).
    func jobControl(_ signal: Int32) -> Int32? {
        cordon_pidfd_send_signal(pidfd, signal) == 0 ? nil : errno
    }

    /// Reaps the worker if it has exited (WNOHANG); returns the exit once known.
    func reap() -> WorkerExit? {
        if let exit { return exit }
        var info = siginfo_t()
        let rc = waitid(idtype_t(rawValue: 3) /* P_PIDFD */, id_t(pidfd), &info, WEXITED | WNOHANG)
        guard rc == 0 else { return nil }
        let reportedPid = info._sifields._sigchld.si_pid
        guard reportedPid != 0 else { return nil }
        let status = info._sifields._sigchld.si_status
        switch info.si_code {
        case Int32(CLD_EXITED): exit = .exited(code: status)
        case Int32(CLD_DUMPED): exit = .signaled(signal: status, coreDumped: true)
        default: exit = .signaled(signal: status, coreDumped: false)
        }
        return exit
    }

    /// Takes the worker's seccomp listener into the supervisor (pidfd_getfd) — the kernel then tells
    /// the supervisor, not the worker, about every denied syscall.
    func takeListener(workerFD: Int32) throws(CordonError) {
        let fd = cordon_pidfd_getfd(pidfd, workerFD)
        guard fd >= 0 else { throw .confinementFailed(detail: "pidfd_getfd(seccomp listener \(workerFD)): \(Errno.describe(errno))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        // The number came from the worker: make sure it really named a seccomp listener (an
        // anonymous inode), not its channel or anything else it holds.
        var target = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/self/fd/\(fd)", &target, 63)
        let kind = n > 0 ? String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        guard kind == "anon_inode:seccomp notify" else {
            close(fd)
            throw .confinementFailed(detail: "fd \(workerFD) the worker named is not a seccomp listener (\(kind))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        listenerFD = fd
    }

    /// Releases the supervisor's fds; call once the worker is reaped.
    func closeResources() {
        if let broker = wasiBroker {
            // A thread of the broker's pool may still be inside it: a read on a hung network file
            // system holds the broker's table lock for as long as the server takes. Closing the
            // broker here, on the reactor, would wait for that lock and stall every plugin. Its fds
            // are closed on that pool instead, after what it is doing, and the donation socket after
            // them: the broker sends on it only while open, and its number must not be reused while a
            // send could still name it.
            let donation = donationFD
            Task(executorPreference: SupervisorCore.wasiPool) {
                broker.close()
                if donation >= 0 { Glibc.close(donation) }
            }
            wasiBroker = nil
            donationFD = -1
        } else if donationFD >= 0 {
            close(donationFD)
            donationFD = -1
        }
        channel.close()
        if stderrFD >= 0, !stderrForwarded { close(stderrFD); stderrFD = -1 }
        if listenerFD >= 0 { close(listenerFD); listenerFD = -1 }
        close(pidfd)
    }
}
