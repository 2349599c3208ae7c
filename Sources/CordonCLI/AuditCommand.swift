import ArgumentParser

/// `cordon audit`: audit log tools.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify and read hash-chained audit logs.",
        subcommands: [AuditVerifyCommand.self, AuditTailCommand.self])
}
