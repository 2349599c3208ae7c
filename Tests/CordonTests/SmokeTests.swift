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
