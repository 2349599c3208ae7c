import ArgumentParser
import Cordon
import CordonAudit
import Foundation
import Synchronization
import WAT

/// `cordon demo`: one plugin under the built-in default policy — isolation, a host call, a
/// capability denial, two limit kills — recorded in an audit log that is then verified.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show Cordon at work: isolation, a host call, a denial, limit kills, a verified audit log.",
        discussion: """
        Runs a built-in plugin (Examples/wat/demo.wat) confined by the built-in default policy. The audit log is written to a fresh directory /tmp/cordon-demo-XXXXXX (or --audit-dir). Exits 0 when every step behaved as expected, 70 otherwise.

        \(ExitStatus.table)
        """)

    @Option(name: .customLong("audit-dir"), help: "Directory for the demo's audit log (default: a fresh /tmp/cordon-demo-XXXXXX).")
    var auditDirectory: String?

    func run() async throws {
        try await runReportingFailures { try await execute() }
    }

    private func execute() async throws {
        let directory = try auditDirectory ?? Self.makeTemporaryDirectory()
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/audit.log"
        let log = try RunCommand.openAudit(path)
        let supervisor = try Supervisor(configuration: SupervisorConfiguration(tenant: "demo", auditLog: log))
        let events = EventCollector()
        let listener = Task { for await event in supervisor.events { events.add(event) } }
        var ok = true
        do {
            ok = try await steps(supervisor, events: events, auditPath: path)
        } catch {
            listener.cancel()
            await RunCommand.finish(supervisor, log)
            throw error
        }
        listener.cancel()
        await RunCommand.finish(supervisor, log)

        let verdict = AuditVerifier.verify(files: [path], head: AuditHead.path(forLog: path))
        print("6. audit log")
        print("   \(path): \(Self.typeCounts(path))")
        print("   cordon audit verify \(path)")
        print("   \(verdict.summaryLine())")
        print("   (read it: cordon audit tail --human \(path))")
        if !verdict.isOK { ok = false }
        guard ok else { throw CLIFailure(ExitStatus.trapped, "demo: a step did not behave as expected (see above)") }
    }

    private func steps(_ supervisor: Supervisor, events: EventCollector, auditPath: String) async throws -> Bool {
        let module = try wat2wasm(DemoPlugin.wat)
        let policy = SandboxPolicy.builtinDefault
        let host = InMemoryHost()
        var ok = true
        print("Cordon demo: a plugin confined by the built-in '\(policy.name)' policy")
        print("audit log: \(auditPath)\n")

        // The demo plugin asks for nothing: every capability-guarded host call is denied.
        var limits = ResourceLimits(policy: policy)
        limits.maxFuelPerCall = 2_000_000
        // Step 4 shows the fuel limit: a generous wall time keeps a slow or loaded machine (a debug
        // build spends seconds on 2,000,000 instructions) from ending it by the clock first.
        limits.maxWallTimePerCall = .seconds(60)
        let plugin = try await Terminal.withProgress("starting confined worker") {
            try await supervisor.load(manifest: PluginManifest(name: "demo"), module: module, policy: policy, host: host, limits: limits)
        }
        let pid = await plugin.workerPIDs().first.map(String.init) ?? "?"
        print("1. isolation")
        print("   worker pid \(pid) confined with: \((await plugin.isolationLayers()).joined(separator: ", "))")

        print("2. a host call and a computation")
        let fib = try await plugin.call("fib", [.i32(30)])
        for entry in host.logs { print("   plugin logged (\(entry.level)): \(entry.message)") }
        print("   fib(30) = \(fib.first?.description ?? "?")   (fuel used so far: \(await plugin.metrics().fuelUsed))")
        if fib != [.i32(832_040)] { ok = false }

        print("3. a capability denial")
        let status = try await plugin.call("send", [])
        let code = status.first.flatMap { if case .i32(let v) = $0 { Int32(bitPattern: v) } else { nil } }
        print("   host_send_message returned \(code.map(String.init) ?? "?") to the guest (-2 = permission denied)")
        try? await Task.sleep(for: .milliseconds(50))   // events arrive asynchronously
        for denial in events.denials() { print("   supervisor: denied \(denial)") }
        if code != ABIErrorCode.permissionDenied.rawValue { ok = false }

        print("4. a limit kill: infinite loop, fuel \(limits.maxFuelPerCall.formatted())")
        ok = await expectLimit(plugin, label: "spin()", expected: .fuel) && ok

        print("5. a limit kill: infinite loop, fuel off, wall time 1 s")
        var wallOnly = limits
        wallOnly.maxFuelPerCall = 0
        wallOnly.maxWallTimePerCall = .seconds(1)
        let looping = try await supervisor.load(manifest: PluginManifest(name: "demo-wall"), module: module, policy: policy,
                                                host: host, limits: wallOnly, restart: RestartPolicy(mode: .never))
        ok = await expectLimit(looping, label: "spin()", expected: .wallTime) && ok
        return ok
    }

    /// Calls `spin` and reports how the limit stopped it.
    private func expectLimit(_ plugin: PluginHandle, label: String, expected: LimitKind) async -> Bool {
        let started = ContinuousClock.now
        do {
            _ = try await Terminal.withProgress("waiting for the \(expected.rawValue) limit") { try await plugin.call("spin", []) }
            print("   \(label) returned: NOT STOPPED")
            return false
        } catch {
            let elapsed = ContinuousClock.now - started
            let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            print("   \(label) stopped after \(ms) ms: \(error)")
            if let error = error as? CordonError, case .limitExceeded(let limit, _, _, _) = error, limit == expected { return true }
            return false
        }
    }

    static func makeTemporaryDirectory() throws(CLIFailure) -> String {
        var template = Array("/tmp/cordon-demo-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLIFailure(ExitStatus.ioError, "error: cannot create a directory under /tmp")
        }
        return String(cString: made)
    }

    /// "N records: 2 worker.spawn, 1 capability.denied, …" from the log file itself.
    static func typeCounts(_ path: String) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "unreadable" }
        var counts: [String: Int] = [:]
        var total = 0
        for line in text.split(separator: "\n") {
            guard let record = try? AuditRecord(line: Array(line.utf8)) else { continue }
            counts[record.type.rawValue, default: 0] += 1
            total += 1
        }
        let parts = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        return "\(total) records (\(parts.joined(separator: ", ")))"
    }
}

/// Supervisor events seen during the demo, for printing after each step.
final class EventCollector: Sendable {
    private let seen = Mutex<[PluginEvent]>([])

    func add(_ event: PluginEvent) { seen.withLock { $0.append(event) } }

    func denials() -> [String] {
        seen.withLock { events in
            events.compactMap { event in
                if case .capabilityDenied(let function, let capability) = event.kind {
                    return "\(function) (needs capability \(capability)) for plugin \(event.pluginName)"
                }
                return nil
            }
        }
    }
}
