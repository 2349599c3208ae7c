import Cordon
import Testing

@Suite struct SmokeTests {
    @Test func addRunsInAConfinedWorker() async throws {
        let supervisor = try Fixtures.supervisor()
        let plugin = try await supervisor.load(manifest: PluginManifest(name: "adder"), module: try Fixtures.wasm(Fixtures.add))
        let result = try await plugin.call("add", [.i32(2), .i32(3)])
        #expect(result == [.i32(5)])
        await supervisor.shutdown()
    }
}

/// A configuration the supervisor cannot use is refused up front, naming the field.
@Suite struct ConfigurationTests {
    @Test func unusableConfigurationsAreRefusedByName() {
        let cases: [(String, (inout SupervisorConfiguration) -> Void)] = [
            ("warmPoolSize", { $0.warmPoolSize = -1 }),
            ("loadTimeout", { $0.loadTimeout = .zero }),
            ("moduleCacheBytes", { $0.moduleCacheBytes = -5 }),
            ("reactorBusyPoll", { $0.reactorBusyPoll = .microseconds(-1) }),
            ("workerIdleRelease", { $0.workerIdleRelease = .seconds(-1) }),
            ("workerIdleRelease", { $0.workerIdleRelease = .seconds(Int64.max) }),
            ("channelRingCapacity", { $0.channelRingCapacity = 100_000 }),
        ]
        for (field, mutate) in cases {
            var configuration = SupervisorConfiguration()
            mutate(&configuration)
            do {
                _ = try Supervisor(configuration: configuration)
                Issue.record("\(field): accepted")
            } catch {
                guard case .invalidConfiguration(let named, _) = error else { Issue.record("\(field): \(error)"); continue }
                #expect(named == field)
                #expect(error.description.hasPrefix("invalid supervisor configuration: \(field): "))
            }
        }
        var fine = SupervisorConfiguration()
        fine.workerIdleRelease = .zero   // release as soon as a call ends
        #expect(throws: Never.self) { try fine.validate() }
    }
}
