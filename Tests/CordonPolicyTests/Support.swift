import CCordonShims
import CordonJail
import CordonPolicy
import Glibc
import Testing

/// Paths of the repository (from this file's location) and of the probe (next to the test bundle).
enum Paths {
    static let repo: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/CordonPolicyTests/Support.swift
        return parts.joined(separator: "/")
    }()

    static var policies: String { repo + "/policies" }

    static let probe: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(n > 0)
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return dir + "/CordonEscapeProbe"
    }()
}

func readFileBytes(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0, "open \(path)")
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out.append(contentsOf: chunk[0..<n])
    }
}

/// How a probe ended, plus its report page.
struct ProbeOutcome: CustomStringConvertible {
    enum End: Equatable { case exited(Int32), signaled(Int32), timedOut }
    var end: End
    var report: [UInt32]
    var text: String
    /// The layers Confinement.apply reported, as the probe wrote them.
    var layers: [String]

    var sigsysSyscall: Int32? { report[0] == 1 ? Int32(bitPattern: report[1]) : nil }
    var failedErrno: Int32 { Int32(bitPattern: report[3]) }
    var listenerFD: Int32 { Int32(bitPattern: report[7]) }
    var description: String { "\(end) report=\(report.prefix(8)) \(text) layers=\(layers)" }
}

/// Spawns the probe in the plan's namespaces with a plan memfd (fd 5) and a report memfd (fd 3).
/// `whileRunning` gets the host pid once the child runs (for /proc inspection), then the probe is killed.
func runProbe(_ plan: ConfinementPlan, _ attempt: String, timeoutMs: Int32 = 15_000, asUser: UInt32? = nil,
              whileRunning: ((pid_t) -> Void)? = nil) -> ProbeOutcome {
    let planFD = cordon_memfd_create("plan", 1)
    let reportFD = cordon_memfd_create("report", 1)
    precondition(planFD >= 0 && reportFD >= 0)
    defer { close(planFD); close(reportFD) }
    let bytes = plan.encoded()
    precondition(bytes.withUnsafeBytes { write(planFD, $0.baseAddress, $0.count) } == bytes.count)
    precondition(ftruncate(reportFD, 4096) == 0)
    let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
    defer { close(devnull) }

    var argStrings = [Paths.probe, "5", attempt, "--report-fd", "3"]
    var path = Paths.probe
    if let uid = asUser {
        // setpriv drops root and execs the probe: the test process stays its parent (the "supervisor").
        path = "/usr/bin/setpriv"
        argStrings = [path, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"] + argStrings
    }
    let argv: [UnsafeMutablePointer<CChar>?] = argStrings.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let envp: [UnsafeMutablePointer<CChar>?] = [nil]
    let fds: [Int32] = [devnull, devnull, devnull, reportFD, -1, planFD]
    let result = path.withCString { path in
        argv.withUnsafeBufferPointer { argvp in
            envp.withUnsafeBufferPointer { envpp in
                fds.withUnsafeBufferPointer { fdsp in
                    var request = cordon_spawn_request(
                        path: path, argv: argvp.baseAddress, envp: envpp.baseAddress, fds: fdsp.baseAddress,
                        nfds: Int32(fds.count), clone_flags: plan.cloneNamespaces.cloneFlags, death_signal: SIGKILL)
                    return cordon_spawn(&request)
                }
            }
        }
    }
    precondition(result.pid > 0, "spawn failed at \(String(cString: result.step)): errno \(result.err)")
    defer { close(result.pidfd) }
    whileRunning?(result.pid)
    if whileRunning != nil { _ = cordon_pidfd_send_signal(result.pidfd, SIGKILL) }

    var pfd = pollfd(fd: result.pidfd, events: Int16(POLLIN), revents: 0)
    var timedOut = false
    if poll(&pfd, 1, timeoutMs) == 0 {
        timedOut = true
        _ = cordon_pidfd_send_signal(result.pidfd, SIGKILL)
    }
    var status: Int32 = 0
    while waitpid(result.pid, &status, 0) < 0 && errno == EINTR {}

    let page = mmap(nil, 4096, PROT_READ, MAP_SHARED, reportFD, 0)!
    defer { munmap(page, 4096) }
    let words = page.bindMemory(to: UInt32.self, capacity: 1024)
    let report = (0..<16).map { words[$0] }
    let textStart = page.advanced(by: 64).assumingMemoryBound(to: CChar.self)
    let text = String(cString: textStart)
    let layersStart = page.advanced(by: 1024).assumingMemoryBound(to: CChar.self)
    let layers = String(cString: layersStart).split(separator: " ").map(String.init)
    let end: ProbeOutcome.End
    if timedOut { end = .timedOut }
    else if status & 0x7F == 0 { end = .exited((status >> 8) & 0xFF) }
    else { end = .signaled(status & 0x7F) }
    return ProbeOutcome(end: end, report: report, text: text, layers: layers)
}

/// Compiles `policy` for this process as the supervisor, with the first namespace attempt.
func testPlan(_ policy: SandboxPolicy, defaultAction: SeccompAction, slot: UInt32 = 7) throws -> ConfinementPlan {
    var p = policy
    p.seccomp.defaultAction = defaultAction
    let root = getuid() == 0
    let attempt = NamespacePlanner.attempts(for: p.namespaces, runningAsRoot: root)[0]
    return try PolicyCompiler.compile(p, slot: slot, supervisorPID: getpid(), createdNamespaces: attempt, runningAsRoot: root)
}

/// What /proc/<pid>/status of a confined process must say about speculation, judged from this
/// (unconfined) process's own line: where the kernel lets a task control the feature, the confined
/// process must have force-disabled it; elsewhere (not affected, always on/off) there is nothing to check.
enum SpeculationExpectation {
    static func ownField(_ name: String) -> String? {
        String(decoding: readFileBytes("/proc/self/status"), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix(name + ":") }
            .map { String($0.dropFirst(name.count + 1).drop { $0 == "\t" || $0 == " " }) }
    }
    static var storeBypass: String? {
        ["thread vulnerable", "thread mitigated"].contains(ownField("Speculation_Store_Bypass")) ? "thread force mitigated" : nil
    }
    static var indirectBranch: String? {
        ["conditional enabled", "conditional disabled"].contains(ownField("SpeculationIndirectBranch")) ? "conditional force disabled" : nil
    }
}
