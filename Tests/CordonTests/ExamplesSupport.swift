import Cordon
import Foundation
import WAT

/// Locates the examples, the built `cordon` binary and the wasm compilers for ExamplesTests.
enum ExamplesSupport {
    /// The repository root, from this file's path (Tests/CordonTests/ExamplesSupport.swift).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func example(_ relative: String) -> String { root + "/Examples/" + relative }

    /// `cordon` next to the test bundle (.build/debug/CordonPackageTests.xctest → .build/debug/cordon).
    static let cordonBinary: String? = {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        var dir = (exe as NSString).deletingLastPathComponent
        for _ in 0..<3 {
            let candidate = dir + "/cordon"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return nil
    }()

    static var hasCordon: Bool { cordonBinary != nil }
    /// Root with setpriv(1): the tests can also run the supervisor as an unprivileged user.
    static var canDropToNobody: Bool { hasCordon && geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") }
    static var hasClang: Bool { compiler("clang") != nil }
    static var hasEmbeddedSwift: Bool {
        compiler("swiftc") != nil
            && FileManager.default.fileExists(atPath: "/opt/swift/usr/lib/swift/embedded/wasm32-unknown-none-wasm")
    }

    static func compiler(_ name: String) -> String? {
        var candidates = ["/opt/swift/usr/bin/\(name)"]
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/\(name)") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The module bytes of an example (.wat compiled in-process, .wasm read).
    static func module(_ relative: String) throws -> [UInt8] {
        let path = relative.hasPrefix("/") ? relative : example(relative)
        if path.hasSuffix(".wat") { return try wat2wasm(String(contentsOfFile: path, encoding: .utf8)) }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// What a `cordon` invocation produced.
    struct Outcome: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `cordon` with `arguments` (cwd = repository root); with `asUser`, through setpriv(1) as
    /// that uid and gid (no groups). Output goes through files so a chatty plugin cannot fill a pipe
    /// and deadlock the test.
    static func cordon(_ arguments: [String], asUser: UInt32? = nil, in directory: String? = nil) async throws -> Outcome {
        guard let binary = cordonBinary else { throw CocoaError(.fileNoSuchFile) }
        if let asUser {
            return try await run("/usr/bin/setpriv", ["--reuid", "\(asUser)", "--regid", "\(asUser)", "--clear-groups", binary] + arguments)
        }
        return try await run(binary, arguments, in: directory)
    }

    /// Runs `executable` with `arguments` in the repository root; stdout and stderr go through files.
    /// The test suspends until the process exits instead of blocking in `waitUntilExit`: the
    /// cooperative pool has one thread per core (two here) and never grows, so a blocked thread
    /// stalls every other test and every host function the supervisors under test run on it.
    static func run(_ executable: String, _ arguments: [String], in workingDirectory: String? = nil) async throws -> Outcome {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/stdout", err = directory + "/stderr"
        guard FileManager.default.createFile(atPath: out, contents: nil), FileManager.default.createFile(atPath: err, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: directory])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory ?? root)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Outcome(status: status,
                       stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "cordon-examples-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A supervisor running the built worker with a short load timeout.
    static func supervisor() throws -> Supervisor {
        try Fixtures.supervisor()
    }
}
