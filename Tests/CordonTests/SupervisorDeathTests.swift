import Foundation
import Testing

/// Invariant 4: no worker outlives its supervisor, even one killed with SIGKILL (PDEATHSIG, set
/// before exec and re-armed after the uid switch).
@Suite struct SupervisorDeathTests {
    static func binary(_ name: String) -> String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var dir = (exe as NSString).deletingLastPathComponent
        for _ in 0..<2 {
            let candidate = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return nil
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    @Test func sigkilledSupervisorLeavesNoWorkerBehind() async throws {
        try await killSupervisorHolding(["hold", "3"])
    }

    /// The same for paused plugins: PDEATHSIG is SIGKILL, which ends a stopped (SIGSTOP) worker too.
    @Test func sigkilledSupervisorLeavesNoPausedWorkerBehind() async throws {
        try await killSupervisorHolding(["hold", "3", "paused"], stopped: true)
    }

    private func killSupervisorHolding(_ arguments: [String], stopped: Bool = false) async throws {
        let bench = try #require(Self.binary("cordon-bench"), "cordon-bench not built")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bench)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading
        let line = await Fixtures.offPool { String(decoding: output.availableData, as: UTF8.self) }
        let pids = line.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        #expect(pids.count == 3, "got '\(line)'")
        for pid in pids { #expect(Self.alive(pid)) }
        if stopped { try await PauseTests.waitUntilStopped(pids) }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        // How long to wait before declaring a survivor (the kernel's SIGKILL of the workers takes
        // milliseconds): generous, so a machine stall cannot pass for one.
        let clock = ContinuousClock()
        let deadline = clock.now + Fixtures.patience
        while clock.now < deadline, pids.contains(where: Self.alive) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for pid in pids { #expect(!Self.alive(pid), "worker \(pid) outlived its SIGKILLed supervisor") }
    }
}
