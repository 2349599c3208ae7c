// CordonEscapeProbe (test-only): confines itself with exactly the worker's code path
// (`Confinement.apply`), then attempts ONE forbidden operation.
//
//   CordonEscapeProbe <plan-fd-or-path> <attempt> [--report-fd N]
//
// Exit status: 0 = the operation SUCCEEDED (an escape), 1 = it returned an error (errno in the report),
// 2 = usage/setup error, 3 = confinement failed (step and errno in the report). A syscall stopped by
// seccomp never returns: the process dies by SIGSYS (KILL_PROCESS, or TRAP without a reporter) or
// exits 159 from the SIGSYS reporter (TRAP with a reporter; the syscall number is in the report).
//
// Report page (optional, a shared memfd): u32[0..2] SIGSYS slot {flag, nr, arch}; u32[3] errno of the
// failed attempt; u32[4] stage (1 = confined, 2 = attempt returned); u32[5] JailError step index;
// u32[6] JailError errno; u32[7] listener fd; bytes 64..<1024 JailError description, bytes 1024..<4096
// the achieved layers separated by spaces (both NUL-terminated).
//
// Syscall numbers come from libseccomp (SyscallTable), resolved before confinement: Swift cannot import
// glibc's SYS_* macros, and resolving them here also exercises the table the filter is built from.
import CCordonShims
import CordonJail
import CordonPolicy
import Glibc

/// The report page layout (u32 indices).
enum Report {
    static let errnoIndex = 3, stageIndex = 4, stepIndex = 5, jailErrnoIndex = 6, listenerIndex = 7
    static let textOffset = 64, layersOffset = 1024, size = 4096
}

func die(_ message: String) -> Never {
    let text = Array("CordonEscapeProbe: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// Exits without atexit handlers or stdio flushing (both could make syscalls the filter forbids).
func exitNow(_ code: Int32) -> Never {
    _ = cordon_syscall6(Int(SyscallTable.number(of: "exit_group")!), Int(code), 0, 0, 0, 0, 0)
    fatalError("unreachable")
}

func nr(_ name: String) -> Int {
    guard let n = SyscallTable.number(of: name) else { die("libseccomp does not know \(name)") }
    return Int(n)
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    die("usage: CordonEscapeProbe <plan-fd-or-path> <attempt> [--report-fd N]; attempts: \(Attempts.names.joined(separator: " "))")
}
var reportFD: Int32 = -1
if args.count == 5, args[3] == "--report-fd", let fd = Int32(args[4]) { reportFD = fd }
else if args.count != 3 { die("bad arguments") }

// The report page is mapped before confinement (mmap of a file is fine afterwards too, but the fd
// might not be); the process writes it with release stores because the test reads it from outside.
func mapReport(_ fd: Int32) -> UnsafeMutablePointer<UInt32>? {
    guard fd >= 0 else { return nil }
    guard let p = mmap(nil, Report.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
        die("mmap(report fd \(fd)): errno \(errno)")
    }
    return p.bindMemory(to: UInt32.self, capacity: Report.size / 4)
}
let report = mapReport(reportFD)
func put(_ report: UnsafeMutablePointer<UInt32>?, _ index: Int, _ value: UInt32) {
    if let r = report { cordon_store_release_u32(r + index, value) }
}

// Read the plan now: after confinement there is no filesystem and no read(2).
func readAll(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(out.count)) }
        if n < 0 { if errno == EINTR { continue }; die("read(plan): errno \(errno)") }
        if n == 0 { return out }
        out.append(contentsOf: chunk[0..<n])
    }
}
let planBytes: [UInt8]
if let fd = Int32(args[1]) {
    planBytes = readAll(fd)
    close(fd)
} else {
    let fd = open(args[1], O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { die("open(\(args[1])): errno \(errno)") }
    planBytes = readAll(fd)
    close(fd)
}
let plan: ConfinementPlan
do { plan = try ConfinementPlan.decode(planBytes) } catch { die("\(error)") }

guard let attempt = Attempts.make(args[2], plan: plan) else { die("unknown attempt \(args[2])") }

let confinement: ConfinementReport
do {
    confinement = try Confinement.apply(plan, sigsysSlot: report)
} catch {
    put(report, Report.stepIndex, UInt32(JailError.Step.allCases.firstIndex(of: error.step) ?? 255))
    put(report, Report.jailErrnoIndex, UInt32(bitPattern: error.errno))
    if let r = report {
        let text = Array(String(describing: error).utf8.prefix(1024 - Report.textOffset - 1)) + [0]
        let bytes = UnsafeMutableRawPointer(r).advanced(by: Report.textOffset)
        text.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
    exitNow(3)
}
// The confinement report goes to the page for the test to check (memory writes need no syscall).
put(report, Report.listenerIndex, UInt32(bitPattern: confinement.listenerFD))
if let r = report {
    let text = Array(confinement.layers.joined(separator: " ").utf8.prefix(Report.size - Report.layersOffset - 1)) + [0]
    let bytes = UnsafeMutableRawPointer(r).advanced(by: Report.layersOffset)
    text.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
}
put(report, Report.stageIndex, 1)

let rc = attempt()
put(report, Report.stageIndex, 2)
if rc >= 0 { exitNow(0) }
put(report, Report.errnoIndex, UInt32(-rc))
exitNow(1)
