import ArgumentParser
import Cordon
import CordonAudit
import Foundation

/// `cordon run`: loads a plugin into a confined worker and calls one export.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one export of a plugin, or a WASI program, in a confined worker process.",
        discussion: """
        Without --export, a module exporting _start runs as a WASI command: ARGS are its argv after the program name, --env sets its environment, --dir HOST[::GUEST] preopens a host directory (read-write; GUEST defaults to HOST) and grants filesystem, --dir-ro the same read-only; stdin is the CLI's stdin (when not a terminal), stdout and stderr are written out, and the exit status is the program's.

        PLUGIN is a .wasm binary or .wat text. ARGS are parsed by the export's signature (i32/i64: decimal or 0x hex; f32/f64: decimal). Results are printed one per line, or as one JSON object with --json. Guest logs (host_log) go to stderr.

        Without --manifest the manifest is synthesized: name = file stem, capabilities = the --grant flags. With --manifest, --grant adds to the manifest's capabilities. Without --policy the built-in default policy confines the worker.

        Two demonstration tools are registered for host_call_tool: echo and reverse. Messages sent with host_send_message are printed to stderr as [plugin → target] payload.

        \(ExitStatus.table)
        """)

    @Argument(help: "The plugin: a .wasm or .wat file.")
    var plugin: String

    // allUnrecognized: negative numbers such as -2 are arguments, not unknown flags.
    @Argument(parsing: .allUnrecognized, help: "Arguments of the export, typed by its signature.")
    var arguments: [String] = []

    @Option(help: "The export to call (without it, a module exporting _start runs as a WASI command).")
    var export: String?

    @Option(name: .customLong("env"), help: "A WASI environment variable KEY=VALUE. Repeatable.")
    var environment: [String] = []

    @Option(name: .customLong("dir"), help: "Preopen HOST[::GUEST] read-write for a WASI program (grants filesystem). Repeatable.")
    var directories: [String] = []

    @Option(name: .customLong("dir-ro"), help: "Preopen HOST[::GUEST] read-only for a WASI program. Repeatable.")
    var readOnlyDirectories: [String] = []

    @Option(help: "A Cordon policy JSON file (default: the built-in default policy).")
    var policy: String?

    @Option(help: "A plugin manifest JSON file.")
    var manifest: String?

    @Option(name: .customLong("grant"),
            help: "Grant a capability (read_config, write_config, send_message, receive_message, call_tool, storage, random, timer, custom:NAME). Repeatable.")
    var grants: [String] = []

    @Option(name: .customLong("config"), help: "A configuration value KEY=VALUE readable with host_get_config. Repeatable.")
    var configValues: [String] = []

    @Option(help: "Fuel per call (≈ instructions); 0 disables metering (wall time still applies).")
    var fuel: UInt64?

    @Option(help: "Wall-clock limit of the call in seconds (the worker is killed past it).")
    var timeout: Double?

    @Option(name: .customLong("memory-pages"), help: "Maximum linear memory in 64 KiB pages.")
    var memoryPages: UInt32?

    @Option(name: .customLong("audit-log"), help: "Append audit records to this hash-chained log file.")
    var auditLog: String?

    @Flag(help: "Print {results, fuel_used, duration_ms, isolation, pid} as one JSON object.")
    var json = false

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400) {
            throw ValidationError("--timeout must be a number of seconds in (0, 86400]")
        }
        if let memoryPages, memoryPages > 65_536 { throw ValidationError("--memory-pages must be at most 65536 (4 GiB)") }
        for grant in grants where PluginCapability(grant) == nil {
            throw ValidationError("unknown capability '\(grant)' for --grant")
        }
        for entry in environment where !entry.contains("=") || entry.hasPrefix("=") {
            throw ValidationError("--env expects KEY=VALUE, got '\(entry)'")
        }
        if export != nil, !(directories.isEmpty && readOnlyDirectories.isEmpty && environment.isEmpty) {
            throw ValidationError("--env, --dir and --dir-ro are for WASI programs, run without --export")
        }
        for entry in configValues where !entry.contains("=") || entry.hasPrefix("=") {
            throw ValidationError("--config expects KEY=VALUE, got '\(entry)'")
        }
    }

    func run() async throws {
        try await runReportingFailures { try await execute() }
    }

    private func execute() async throws {
        // The file goes to the worker as it is: WAT text is assembled there, after confinement.
        let module = plugin
        var sandbox = SandboxPolicy.builtinDefault
        if let policy { sandbox = try SandboxPolicy.load(path: policy) }
        var pluginManifest = try manifest.map { path throws(CordonError) in try PluginManifest.load(path: path) }
            ?? PluginManifest(name: PluginInput.stem(of: plugin))
        pluginManifest.capabilities.formUnion(grants.compactMap(PluginCapability.init))
        let preopens = WASICommand.preopens(directories, readOnly: false) + WASICommand.preopens(readOnlyDirectories, readOnly: true)
        if !preopens.isEmpty { pluginManifest.capabilities.insert(.filesystem) }
        for entry in configValues {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pluginManifest.configuration[String(parts[0])] = String(parts[1])
        }
        var limits = ResourceLimits(policy: sandbox)
        if let fuel { limits.maxFuelPerCall = fuel }
        if let timeout { limits.maxWallTimePerCall = .milliseconds(Int64((timeout * 1000).rounded(.up))) }
        if let memoryPages { limits.maxMemoryPages = memoryPages }

        let log = try auditLog.map { path throws(CLIFailure) in try Self.openAudit(path) }
        var configuration = SupervisorConfiguration(auditLog: log)
        configuration.tenant = "cli"
        let supervisor = try Supervisor(configuration: configuration)
        var exitCode: Int32 = 0
        do {
            if let export {
                try await call(supervisor, export: export, module: module, manifest: pluginManifest, policy: sandbox, limits: limits)
            } else {
                let wasi = WASIConfiguration(arguments: [PluginInput.stem(of: plugin)] + WASICommand.programArguments(arguments),
                                             environment: environment, preopens: preopens)
                exitCode = try await WASICommand.run(supervisor, path: module, manifest: pluginManifest, policy: sandbox,
                                                     limits: limits, wasi: wasi)
            }
        } catch {
            await Self.finish(supervisor, log)
            throw error
        }
        await Self.finish(supervisor, log)
        // The WASI program's own exit status is the CLI's.
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    private func call(_ supervisor: Supervisor, export: String, module: String, manifest: PluginManifest, policy: SandboxPolicy,
                      limits: ResourceLimits) async throws {
        let host = InMemoryHost(tools: Self.demonstrationTools, echoLogs: true)
        let handle = try await Terminal.withProgress("starting confined worker") {
            try await supervisor.load(manifest: manifest, path: module, policy: policy,
                                      host: host, limits: limits, restart: RestartPolicy(mode: .never))
        }
        let exports = await handle.exports()
        guard let signature = exports.first(where: { $0.name == export }) else {
            let names = exports.map { "\($0.name)(\($0.parameters.map(\.description).joined(separator: ", ")))" }
            throw CLIFailure(ExitStatus.usage,
                             "error: the plugin has no exported function '\(export)'; it exports: \(names.isEmpty ? "(none)" : names.joined(separator: ", "))")
        }
        let values = try PluginInput.arguments(arguments, for: signature)
        let pid = await handle.workerPIDs().first
        let layers = await handle.isolationLayers()
        let started = ContinuousClock.now
        let results = try await Terminal.withProgress("calling \(export)") { try await handle.call(export, values) }
        let elapsed = ContinuousClock.now - started
        // Messages have no real recipient here; show them so a sender plugin can be tried.
        for message in host.outbox {
            Terminal.error("[\(message.from) → \(message.to)] \(String(decoding: message.payload, as: UTF8.self))")
        }
        let metrics = await handle.metrics()
        if json {
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let fields = [
                "\"results\":[\(results.map(PluginInput.json).joined(separator: ","))]",
                "\"fuel_used\":\(metrics.fuelUsed)",
                "\"duration_ms\":\(String(format: "%.3f", ms))",
                "\"isolation\":[\(layers.map(PluginInput.jsonString).joined(separator: ","))]",
                "\"pid\":\(pid.map(String.init) ?? "null")",
            ]
            print("{\(fields.joined(separator: ","))}")
        } else {
            for value in results { print(value.description) }
        }
    }

    /// Tools a plugin can reach with host_call_tool under `cordon run` (with --grant call_tool).
    static let demonstrationTools: [String: InMemoryHost.Tool] = [
        "echo": { arguments in arguments },
        "reverse": { arguments in Array(arguments.reversed()) },
    ]

    /// Opens the audit log; durability per record, because a CLI run is short and must not lose its trail.
    static func openAudit(_ path: String) throws(CLIFailure) -> AuditLog {
        do {
            return try AuditLog(configuration: AuditLogConfiguration(path: path, durability: .fsyncEachRecord,
                                                                     hostCallSampling: .all))
        } catch {
            throw CLIFailure(ExitStatus.ioError, "error: cannot open audit log \(path): \(error)")
        }
    }

    /// Stops every worker, then closes the audit log (which writes its final `log.close` record).
    static func finish(_ supervisor: Supervisor, _ log: AuditLog?) async {
        await supervisor.shutdown()
        guard let log else { return }
        do { try log.close() } catch { Terminal.error("warning: closing the audit log: \(error)") }
    }
}
