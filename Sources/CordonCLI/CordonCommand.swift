import ArgumentParser

/// The `cordon` command: runs, inspects and builds sandboxed WebAssembly plugins.
@main
struct CordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon",
        abstract: "Run untrusted WebAssembly plugins in confined worker processes.",
        discussion: ExitStatus.table,
        version: "0.1.0",
        subcommands: [RunCommand.self, InspectCommand.self, PolicyCommand.self, AuditCommand.self,
                      BuildCommand.self, InitCommand.self, DemoCommand.self, ServeCommand.self, ExitCodeProbeCommand.self])
}
