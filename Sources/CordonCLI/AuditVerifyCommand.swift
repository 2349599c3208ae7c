import ArgumentParser
import CordonAudit
import Foundation

/// `cordon audit verify`: checks a log's chain, schema, order and anchor offline.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an audit log (or a rotated set): JSON, schema, gapless seq, hash chain, anchor.",
        discussion: """
        Prints `ok: N records, chain intact`, or the first bad record: its seq, file and line, and the reason. Without --head, FILE.head is used when it exists; otherwise the log must end with its log.close record.

        \(ExitStatus.table)
        """)

    @Argument(help: "The log file(s); rotated files may be given in any order.")
    var files: [String]

    @Option(help: "The head (anchor) file (default: <first FILE>.head when present).")
    var head: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one audit log file") }
    }

    func run() async throws {
        try await runReportingFailures {
            for file in files + (head.map { [$0] } ?? []) where !FileManager.default.fileExists(atPath: file) {
                throw CLIFailure(ExitStatus.noInput, "error: file not found: \(file)")
            }
            let anchor = head ?? files.lazy.map { AuditHead.path(forLog: $0) }.first { FileManager.default.fileExists(atPath: $0) }
            let verdict = AuditVerifier.verify(files: files, head: anchor)
            guard verdict.isOK else { throw CLIFailure(verdict.exitCode, verdict.summaryLine()) }
            print(verdict.summaryLine())
        }
    }
}
