import ArgumentParser
import CordonAudit
import Foundation

/// `cordon audit tail`: prints (and optionally follows) audit records, filtered.
struct AuditTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print audit records as JSON lines (or --human), optionally following the log.",
        discussion: """
        --since takes an RFC 3339 time (2026-11-25T12:00:00Z) or a relative age (30s, 10m, 2h, 1d). -f follows appends and rotation until interrupted.

        \(ExitStatus.table)
        """)

    @Flag(name: .customShort("f"), help: "Follow the log as it grows (like tail -F).")
    var follow = false

    @Argument(help: "The audit log file.")
    var file: String

    @Option(name: .customLong("type"), help: "Only this event type (e.g. worker.spawn). Repeatable.")
    var types: [String] = []

    @Option(help: "Only records of this plugin id.")
    var plugin: String?

    @Option(help: "Only records at or after this time.")
    var since: String?

    @Flag(help: "One human-readable line per record.")
    var human = false

    func validate() throws {
        if let since, Self.parseSince(since, now: Date()) == nil {
            throw ValidationError("--since expects an RFC 3339 time or an age like 30s, 10m, 2h, 1d; got '\(since)'")
        }
        let known = Set(AuditEventType.allCases.map(\.rawValue))
        for type in types where !known.contains(type) {
            throw ValidationError("unknown --type '\(type)'; known: \(known.sorted().joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await runReportingFailures {
            guard FileManager.default.fileExists(atPath: file) else {
                throw CLIFailure(ExitStatus.noInput, "error: file not found: \(file)")
            }
            let options = AuditTailOptions(follow: follow, types: Set(types), plugin: plugin,
                                           since: since.flatMap { Self.parseSince($0, now: Date()) }, human: human)
            do {
                try AuditTail.run(file: file, options: options) { line in
                    print(line)
                    fflush(nil)   // followers (and pipes to jq) see each record as it arrives
                }
            } catch {
                throw CLIFailure(ExitStatus.ioError, "error: \(error)")
            }
        }
    }

    static func parseSince(_ text: String, now: Date) -> Date? {
        if let stamp = AuditTimestamp(rfc3339: text) { return stamp.date }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let amount = Double(text.dropLast()), amount >= 0 else { return nil }
        return now.addingTimeInterval(-amount * scale)
    }
}
