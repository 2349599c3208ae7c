import ArgumentParser
import Cordon
import CordonAudit
import CordonPolicy
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's exit statuses (sysexits.h values), and the one place a `CordonError` becomes one.
enum ExitStatus {
    static let success: Int32 = 0
    static let usage: Int32 = 64          // EX_USAGE
    static let invalidInput: Int32 = 65   // EX_DATAERR: plugin, policy or manifest rejected
    static let noInput: Int32 = 66        // EX_NOINPUT: a file does not exist
    static let unavailable: Int32 = 69    // EX_UNAVAILABLE: plugin unavailable, supervisor shutting down
    static let trapped: Int32 = 70        // EX_SOFTWARE: the plugin trapped
    static let osError: Int32 = 71        // EX_OSERR: worker spawn/confinement failed, worker died
    static let ioError: Int32 = 74        // EX_IOERR: audit log unusable
    static let limit: Int32 = 75          // EX_TEMPFAIL: a resource limit was exceeded
    static let protocolError: Int32 = 76  // EX_PROTOCOL: the worker broke the channel protocol
    static let violation: Int32 = 77      // EX_NOPERM: a sandbox (seccomp) violation

    /// Shown in every command's `--help`.
    static let table = """
    Exit status:
      0   success
      64  usage error (bad flag, wrong argument count/type, unknown export)
      65  invalid plugin, policy or manifest (parse/validate/link/instantiate)
      66  a file was not found
      69  plugin unavailable or supervisor shutting down
      70  the plugin trapped (reason on stderr)
      71  the worker could not be spawned or confined, or died
      74  the audit log could not be written
      75  a limit was exceeded (which limit and the measured value on stderr)
      76  the worker violated the channel protocol
      77  sandbox violation (the forbidden syscall by name on stderr)
    """

    /// Every `CordonError` case mapped explicitly: a new case must be placed here on purpose.
    static func code(for error: CordonError) -> Int32 {
        switch error {
        case .fileNotFound, .unreadableFile: noInput
        case .invalidManifest, .invalidPolicy, .invalidModule: invalidInput
        case .noSuchExport, .invalidArguments, .invalidConfiguration, .unsupportedSignature: usage
        case .encodingFailed, .decodingFailed: usage
        case .trapped: trapped
        case .limitExceeded: limit
        case .timedOut: limit
        case .sandboxViolation: violation
        case .spawnFailed, .confinementFailed, .workerDied: osError
        case .protocolViolation: protocolError
        case .unavailable, .shuttingDown, .alreadyLoaded: unavailable
        case .initFailed: invalidInput
        case .audit: ioError
        }
    }

    /// The stderr line for `error`: what happened plus the detail each class promises.
    static func message(for error: CordonError) -> String {
        switch error {
        case .trapped(let export, let kind, let message):
            "error: plugin trapped in '\(export)': \(kind) — \(message)"
        case .limitExceeded(let limit, let value, let measured, let export):
            "error: limit exceeded: \(limit.rawValue) (limit \(value), measured \(measured))"
                + (export.map { " in export '\($0)'" } ?? "")
        case .sandboxViolation(let syscall, let number, let by):
            "error: sandbox violation: syscall \(syscall) (nr \(number)) forbidden; worker killed (reported by \(by))"
        default:
            "error: \(error)"
        }
    }
}

/// A CLI failure: the message for stderr and the exit status.
struct CLIFailure: Error {
    var status: Int32
    var message: String

    init(_ status: Int32, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: CordonError) {
        self.init(ExitStatus.code(for: error), ExitStatus.message(for: error))
    }

    /// A policy file's error: a missing file is 66, anything else 65, always naming file and JSON path.
    init(_ error: PolicyError) {
        if case .unreadable(let code) = error.reason, code == ENOENT {
            self.init(ExitStatus.noInput, "error: file not found: \(error.file)")
        } else {
            self.init(ExitStatus.invalidInput, "error: invalid policy: \(error.file): \(error.path): \(error.reason)")
        }
    }
}

/// Runs a command body, turning typed failures into a message on stderr and an exit status.
func runReportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as CLIFailure {
        Terminal.error(failure.message)
        throw ExitCode(failure.status)
    } catch let error as CordonError {
        Terminal.error(ExitStatus.message(for: error))
        throw ExitCode(ExitStatus.code(for: error))
    } catch let error as PolicyError {
        let failure = CLIFailure(error)
        Terminal.error(failure.message)
        throw ExitCode(failure.status)
    }
}
