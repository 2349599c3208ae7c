@testable import Cordon
import Foundation
import Testing

/// A worker is reaped while a thread of the broker's pool is still inside its broker, as a read on a
/// hung network file system would be, holding the broker's lock. The reactor must not wait for that
/// thread: every other plugin keeps being served, and the broker's fds are closed once it lets go.
@Suite struct WASIBrokerCloseTests {
    @Test func reapingAWorkerWhoseBrokerIsBusyDoesNotStallOtherPlugins() async throws {
        let supervisor = try Fixtures.supervisor()
        let directory = NSTemporaryDirectory() + "cordon-busy-broker-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let busy = try await supervisor.load(manifest: PluginManifest(name: "busy-broker", capabilities: [.filesystem]),
                                             module: try Fixtures.wasm(Fixtures.add), policy: Fixtures.policy(),
                                             wasi: WASIConfiguration(preopens: [WASIPreopen(hostPath: directory, guestPath: "/")]))
        let bystander = try await supervisor.load(manifest: PluginManifest(name: "bystander"), module: try Fixtures.wasm(Fixtures.add))
        // The busy plugin's broker, read on the reactor, where the supervisor's state lives.
        let id = busy.id
        let core = supervisor.core
        let broker = try #require(await withTaskExecutorPreference(supervisor.executor) {
            core.plugins[id]?.workers.first?.process?.wasiBroker
        })
        #expect(broker.openFileCount == 1)   // the preopen

        // A thread inside the broker, holding its lock until released.
        let release = DispatchSemaphore(value: 0)
        let inside = DispatchSemaphore(value: 0)
        Thread {
            broker.table.withLock { _ in
                inside.signal()
                release.wait()
            }
        }.start()
        inside.wait()

        // A stalled reactor would never answer below; the watchdog lets the thread go after
        // `Fixtures.patience` so that the test then fails instead of hanging.
        let watchdog = Watchdog { release.signal() }

        // The worker is stopped and reaped; then another plugin's call must still be answered.
        await busy.unload()
        let answer = try await bystander.call("add", [.i32(2), .i32(3)])
        #expect(answer == [.i32(5)])
        #expect(!watchdog.fired, "the reactor waited for the broker's lock")

        // Once the thread lets go, the broker is closed after all.
        watchdog.cancel()
        if !watchdog.fired { release.signal() }
        try await LimitAndRestartTests.waitUntil { broker.openFileCount == 0 }
        await supervisor.shutdown()
    }
}
