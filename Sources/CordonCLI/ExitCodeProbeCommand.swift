import ArgumentParser
import Cordon

/// Hidden, test-only: exits through the same error mapping as `run` with a synthesized
/// `CordonError`, because some statuses (77: a seccomp violation) cannot be provoked by a pure
/// WebAssembly plugin, whose code never makes syscalls of its own.
struct ExitCodeProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exit-code-probe", abstract: "Test hook: exit as for a synthesized error.",
        shouldDisplay: false)

    @Argument(help: "sandbox-violation | trapped | limit | invalid-module | file-not-found | usage")
    var error: String

    func run() async throws {
        try await runReportingFailures {
            let synthesized: CordonError
            switch error {
            case "sandbox-violation": synthesized = .sandboxViolation(syscall: "socket", number: 41, reportedBy: "kernel")
            case "trapped": synthesized = .trapped(export: "f", kind: .unreachable, message: "unreachable")
            case "limit": synthesized = .limitExceeded(limit: .fuel, value: "1", measured: "exhausted", export: "f")
            case "invalid-module": synthesized = .invalidModule(stage: "parse", message: "synthesized")
            case "file-not-found": synthesized = .fileNotFound(path: "/synthesized")
            case "usage": synthesized = .noSuchExport("synthesized")
            default: throw CLIFailure(ExitStatus.usage, "error: unknown probe '\(error)'")
            }
            throw synthesized
        }
    }
}
