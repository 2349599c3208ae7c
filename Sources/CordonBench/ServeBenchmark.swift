import Cordon
import CordonServe
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WAT

/// `cordon-bench serve`: 2 tenants, 50 plugins, N keep-alive clients on the daemon's Unix socket
/// calling a trivial export; calls/s and p50/p99, next to the same calls through the library (one
/// Supervisor, the same 50 plugins, N concurrent callers) in the same run.
func runServeBenchmark(arguments: [String]) async throws {
    func value(_ flag: String) -> Int? { arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } }
    let clients = value("--clients") ?? 8
    let seconds = value("--seconds") ?? 5
    let pluginCount = 50
    let module = try wat2wasm("""
        (module (memory (export "memory") 1) (func (export "noop") (result i32) (i32.const 1)))
        """)
    let dir = NSTemporaryDirectory() + "cordon-bench-serve-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let socket = dir + "/cordon.sock"
    let tokens = ["t1": "bench-token-1", "t2": "bench-token-2"]
    func sha(_ s: String) -> String { SHA256Hex.of(Array(s.utf8)) }
    let config = """
        {"listen":{"unix":"\(socket)"},"state_dir":"\(dir)/state","audit_log":"\(dir)/audit.log",
         "admin_token_sha256":"\(sha("admin"))","cgroups":false,"tenants":[
         \(tokens.keys.sorted().map { name in """
            {"name":"\(name)","token_sha256":"\(sha(tokens[name]!))","quota":{"plugins":50,"workers":50,"memory_mib":4096,
             "calls_per_second":10000000,"module_bytes":1048576,"concurrent_calls":10000},"capabilities":[],"policies":["default"]}
            """ }.joined(separator: ","))]}
        """
    let configuration = try ServeConfiguration.parse(Array(config.utf8))
    let daemon = try ServeDaemon(configuration: configuration, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    let server = Task { try await ServeService(daemon: daemon).run() }
    while !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(20)) }
    try await Task.sleep(for: .milliseconds(100))

    // Set-up over HTTP: a module and 25 plugins per tenant.
    var targets: [(token: String, path: String)] = []
    for (index, name) in tokens.keys.sorted().enumerated() {
        let token = tokens[name]!
        let client = try RawHTTPClient(path: socket)
        let put = try client.send("PUT", "/v1/modules", token: token, body: module)
        guard put.status == 201 || put.status == 200 else { throw BenchFailure("module upload: \(put.status)") }
        let digest = SHA256Hex.of(module)
        for i in 0..<(pluginCount / 2) {
            let body = Array("{\"name\":\"p\(index)-\(i)\",\"module_sha256\":\"\(digest)\",\"limits\":{\"memory_pages\":16}}".utf8)
            let created = try client.send("POST", "/v1/plugins", token: token, body: body)
            guard created.status == 201, let text = String(bytes: created.body, encoding: .utf8),
                  let range = text.range(of: "\"id\":\"") else { throw BenchFailure("plugin create: \(created.status)") }
            let id = text[range.upperBound...].prefix { $0 != "\"" }
            targets.append((token, "/v1/plugins/\(id)/calls/noop"))
        }
    }

    // Library baseline: the same module, 50 plugins, the same number of concurrent callers.
    let supervisor = try Supervisor(configuration: SupervisorConfiguration(tenant: "bench"))
    var handles: [PluginHandle] = []
    for i in 0..<pluginCount { handles.append(try await supervisor.load(manifest: PluginManifest(name: "l\(i)"), module: module)) }
    let library = try await measureLibrary(handles: handles, callers: clients, seconds: seconds)
    await supervisor.shutdown()

    let http = try measureHTTP(socket: socket, targets: targets, clients: clients, seconds: seconds)

    print("serve: \(pluginCount) plugins, 2 tenants, \(clients) concurrent callers, \(seconds) s each, trivial export")
    let widths = [34, 12, 12, 12]
    print(row(["path", "calls/s", "p50", "p99"], widths: widths))
    for (label, r) in [("library (PluginHandle.call)", library), ("HTTP on the Unix socket", http)] {
        print(row([label, String(format: "%.0f", r.rate), formatTime(r.p50), formatTime(r.p99)], widths: widths))
    }
    print(String(format: "HTTP adds %@ at p50 (target ≤ 100 µs); %.0f calls/s (target ≥ 5,000)", formatTime(http.p50 - library.p50), http.rate))
    daemon.beginDraining()
    server.cancel()
    await daemon.shutdown()
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

private struct Measured { var rate: Double; var p50: Double; var p99: Double }

private func summarize(_ samples: [Double], seconds: Double) -> Measured {
    let sorted = samples.sorted()
    func p(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
    return Measured(rate: Double(sorted.count) / seconds, p50: p(0.5), p99: p(0.99))
}

private func measureLibrary(handles: [PluginHandle], callers: Int, seconds: Int) async throws -> Measured {
    let deadline = ContinuousClock.now + .seconds(seconds)
    let started = ContinuousClock.now
    let samples = try await withThrowingTaskGroup(of: [Double].self) { group in
        for c in 0..<callers {
            group.addTask {
                var out: [Double] = []
                var i = c
                while ContinuousClock.now < deadline {
                    let t = ContinuousClock.now
                    _ = try await handles[i % handles.count].call("noop")
                    let d = ContinuousClock.now - t
                    out.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                    i += callers
                }
                return out
            }
        }
        var all: [Double] = []
        for try await part in group { all += part }
        return all
    }
    let elapsed = ContinuousClock.now - started
    return summarize(samples, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// One OS thread per client with a blocking keep-alive connection: the clients must not share the
/// cooperative pool the daemon runs on.
private func measureHTTP(socket: String, targets: [(token: String, path: String)], clients: Int, seconds: Int) throws -> Measured {
    let results = Mutex<[Double]>([])
    let failures = Mutex<[String]>([])
    let deadline = ContinuousClock.now + .seconds(seconds)
    let started = ContinuousClock.now
    let body = Array("{\"args\":[]}".utf8)
    var threads: [Thread] = []
    let done = DispatchGroup()
    for c in 0..<clients {
        done.enter()
        let thread = Thread {
            defer { done.leave() }
            do {
                let client = try RawHTTPClient(path: socket)
                var out: [Double] = []
                var i = c
                while ContinuousClock.now < deadline {
                    let target = targets[i % targets.count]
                    let t = ContinuousClock.now
                    let r = try client.send("POST", target.path, token: target.token, body: body)
                    let d = ContinuousClock.now - t
                    guard r.status == 200 else { throw BenchFailure("call answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
                    out.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                    i += clients
                }
                results.withLock { $0 += out }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        threads.append(thread)
        thread.start()
    }
    done.wait()
    if let failure = failures.withLock({ $0.first }) { throw BenchFailure(failure) }
    let elapsed = ContinuousClock.now - started
    return summarize(results.withLock { $0 }, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// A minimal blocking HTTP/1.1 client over a Unix socket, keep-alive, Content-Length bodies only.
final class RawHTTPClient: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw BenchFailure("connect \(path): errno \(errno)") }
    }

    deinit { close(fd) }

    func send(_ method: String, _ path: String, token: String, body: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchFailure("write: errno \(errno)") }
            sent += n
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while true {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where buffer[i] == 13 && Array(buffer[i..<(i + 4)]) == separator { headerEnd = i; break }
            }
            if headerEnd != nil { break }
            try fill()
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let start = headerEnd! + 4
        while buffer.count < start + length { try fill() }
        let out = Array(buffer[start..<(start + length)])
        buffer.removeFirst(start + length)
        return (status, out)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw BenchFailure("read: \(n == 0 ? "closed" : "errno \(errno)")") }
        buffer += chunk[0..<n]
    }
}

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String { ServeDigest.sha256Hex(bytes) }
}
