import ArgumentParser
import Cordon
import CordonJail
import CordonPolicy

/// `cordon policy`: policy file tools.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with sandbox policy files.",
        subcommands: [PolicyCheckCommand.self])
}

/// `cordon policy check`: validates a policy and prints the effective filter and limits.
struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a policy file; print the effective seccomp filter and limits.",
        discussion: """
        Prints the policy's SHA-256 (the policy_sha256 of audit records), its limits, namespace plan and the seccomp filter as libseccomp pseudo-code. An invalid file is reported with the file, the JSON path and the reason. Use --builtin default|strict instead of FILE to print a built-in policy.

        \(ExitStatus.table)
        """)

    @Argument(help: "The policy JSON file.")
    var file: String?

    @Option(help: "Check a built-in policy (default or strict) instead of a file.")
    var builtin: String?

    func validate() throws {
        if (file == nil) == (builtin == nil) { throw ValidationError("give either FILE or --builtin NAME") }
        if let builtin, !["default", "strict"].contains(builtin) { throw ValidationError("--builtin is default or strict") }
    }

    func run() async throws {
        try await runReportingFailures {
            let policy: SandboxPolicy
            switch builtin {
            case "default": policy = .builtinDefault
            case "strict": policy = .builtinStrict
            default: policy = try SandboxPolicy.load(path: file ?? "")
            }
            let text: String
            do { text = try PolicyCompiler.describe(policy) } catch {
                // Parsing accepted it but libseccomp refused to build the filter: still an invalid policy.
                throw CLIFailure(ExitStatus.invalidInput, "error: invalid policy: \(file ?? "<builtin>"): $.seccomp: \(error)")
            }
            print("valid: \(file ?? "<builtin \(builtin ?? "")>") (policy \(policy.name))")
            // What audit records carry as policy_sha256: a reviewer matches a record to this file.
            print("sha256: \(policy.sha256) (of the canonical JSON, docs/policies.md)")
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        }
    }
}
