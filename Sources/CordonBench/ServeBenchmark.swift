import Cordon
import CordonServe
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WAT

/// `cordon-bench serve`: the daemon measured next to the library in one run, on the same plugins.
/// 1. Latency: one caller, sequential calls of a trivial export on one plugin, alternating between a
///    direct `PluginHandle.call` on the daemon's own handle and HTTP on the Unix socket and on
///    loopback TCP; the HTTP overhead is the p50 difference. `GET /healthz` on the Unix socket takes
///    its turn too: the HTTP stack's own round trip, with no token, body or plugin behind it.
/// 2. Throughput: N concurrent callers over the plugins of 2 tenants: the library, then N keep-alive
///    HTTP clients on the Unix socket, then on loopback TCP.
/// 3. Noisy neighbour: tenant B's call latency, quiet and then while tenant A's plugin spins in
///    both its workers (call after call, each until its fuel runs out) holding its memory (cgroup CPU
///    and memory limits when run as root, as the daemon does).
func runServeBenchmark(arguments: [String]) async throws {
    func value(_ flag: String) -> Int? { arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } }
    let quick = arguments.contains("--quick")
    let clients = value("--clients") ?? 8
    let seconds = value("--seconds") ?? (quick ? 1 : 5)
    // The daemon's `reactor_busy_poll_us`; its default when not given.
    let busyPoll = value("--reactor-busy-poll-us")
    let pluginCount = quick ? 10 : 50
    let latencyRounds = quick ? 5 : 20
    let module = try wat2wasm("""
        (module (memory (export "memory") 1)
          (func (export "noop") (result i32) (i32.const 1))
          (func (export "burn") (loop $forever (br $forever)))
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
        """)
    let dir = NSTemporaryDirectory() + "cordon-bench-serve-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let socket = dir + "/cordon.sock"
    let port = try freeLoopbackPort()
    let tokens = ["t1": "bench-token-1", "t2": "bench-token-2"]
    let hogToken = "bench-token-hog"
    // The daemon puts each tenant in its cgroup only as root (as `cordon serve` does by default).
    let cgroups = geteuid() == 0
    func sha(_ s: String) -> String { SHA256Hex.of(Array(s.utf8)) }
    let quietTenants = tokens.keys.sorted().map { name in """
        {"name":"bench-\(name)","token_sha256":"\(sha(tokens[name]!))","quota":{"plugins":\(pluginCount),"workers":\(pluginCount),"memory_mib":4096,
         "calls_per_second":10000000,"module_bytes":1048576,"concurrent_calls":10000},"capabilities":[],"policies":["default"]}
        """ }
    let hogTenant = """
        {"name":"bench-hog","token_sha256":"\(sha(hogToken))","quota":{"plugins":1,"workers":2,"memory_mib":64,"cpu_percent":50,
         "calls_per_second":10000000,"module_bytes":1048576,"concurrent_calls":10000},"capabilities":[],"policies":["default"]}
        """
    let config = """
        {"listen":{"unix":"\(socket)","tcp":"127.0.0.1:\(port)"},"state_dir":"\(dir)/state","audit_log":"\(dir)/audit.log",
         "admin_token_sha256":"\(sha("admin"))","cgroups":\(cgroups),\(busyPoll.map { "\"reactor_busy_poll_us\":\($0)," } ?? "")"tenants":[\((quietTenants + [hogTenant]).joined(separator: ","))]}
        """
    let configuration = try ServeConfiguration.parse(Array(config.utf8))
    let daemon = try ServeDaemon(configuration: configuration, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
    let server = Task { try await ServeService(daemon: daemon).run() }
    while !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(20)) }
    try await Task.sleep(for: .milliseconds(100))
    let unix: @Sendable () throws -> RawHTTPClient = { try RawHTTPClient(path: socket) }
    let tcp: @Sendable () throws -> RawHTTPClient = { try RawHTTPClient(loopbackPort: port) }

    // Set-up over HTTP: a module and the plugins of each tenant.
    var targets: [(token: String, path: String)] = []
    var handles: [PluginHandle] = []
    let digest = SHA256Hex.of(module)
    func create(_ client: RawHTTPClient, token: String, tenant: String, _ body: String) throws -> (path: String, handle: PluginHandle) {
        let created = try client.send("POST", "/v1/plugins", token: token, body: Array(body.utf8))
        let text = String(decoding: created.body, as: UTF8.self)
        guard created.status == 201, let range = text.range(of: "\"id\":\"") else {
            throw BenchFailure("plugin create: \(created.status) \(text)")
        }
        let id = String(text[range.upperBound...].prefix { $0 != "\"" })
        guard let handle = daemon.pluginHandle(tenant: tenant, id: id) else { throw BenchFailure("plugin \(id) has no handle") }
        return ("/v1/plugins/\(id)/calls/", handle)
    }
    for (index, name) in tokens.keys.sorted().enumerated() {
        let token = tokens[name]!
        let client = try unix()
        let put = try client.send("PUT", "/v1/modules", token: token, body: module)
        guard put.status == 201 || put.status == 200 else { throw BenchFailure("module upload: \(put.status)") }
        for i in 0..<(pluginCount / 2) {
            let made = try create(client, token: token, tenant: "bench-\(name)",
                                  "{\"name\":\"p\(index)-\(i)\",\"module_sha256\":\"\(digest)\",\"limits\":{\"memory_pages\":16}}")
            targets.append((token, made.path + "noop"))
            handles.append(made.handle)
        }
    }
    let hogClient = try unix()
    _ = try hogClient.send("PUT", "/v1/modules", token: hogToken, body: module)
    // Each burn call spins until its fuel runs out (a trap: the worker stays, so the burn never
    // stops for a restart back-off). 2 workers × 256 pages (16 MiB).
    let hog = try create(hogClient, token: hogToken, tenant: "bench-hog",
                         "{\"name\":\"hog\",\"module_sha256\":\"\(digest)\",\"workers\":2,\"limits\":{\"fuel\":20000000,\"timeout_ms\":30000,\"memory_pages\":256}}")

    print("serve: \(pluginCount) plugins, 2 tenants (+1 noisy), \(clients) concurrent callers, \(seconds) s per throughput figure, trivial export, \(quick ? "quick" : "full") run, \(ProcessInfo.processInfo.activeProcessorCount) cores, reactors poll \(formatTime(secondsOf(configuration.reactorBusyPoll))) after a busy turn\(cgroups ? "" : ", no cgroups (not root)")")

    // 1. Latency: alternate the paths in rounds so they share the machine's conditions.
    var direct: [Double] = [], overUnix: [Double] = [], overTCP: [Double] = [], healthz: [Double] = []
    // The event loops' CPU time while each path's requests run one after another: what the HTTP stack
    // and the handler cost the thread every request waits for (nothing else runs on it meanwhile).
    var unixLoopCPU = 0, healthzLoopCPU = 0
    let first = targets[0]
    let unixClient = try unix(), tcpClient = try tcp()
    for _ in 0..<latencyRounds {
        for _ in 0..<200 {
            let t = ContinuousClock.now
            _ = try await handles[0].call("noop")
            direct.append(secondsOf(ContinuousClock.now - t))
        }
        var loopCPU = eventLoopCPUNanoseconds()
        overUnix += try sequential(unixClient, first, count: 200)
        unixLoopCPU += eventLoopCPUNanoseconds() - loopCPU
        overTCP += try sequential(tcpClient, first, count: 200)
        loopCPU = eventLoopCPUNanoseconds()
        healthz += try sequential(unixClient, (token: "", path: "/healthz"), count: 200, method: "GET", body: [])
        healthzLoopCPU += eventLoopCPUNanoseconds() - loopCPU
    }
    let directP = summarize(direct, seconds: 1), unixP = summarize(overUnix, seconds: 1), tcpP = summarize(overTCP, seconds: 1)
    let healthzP = summarize(healthz, seconds: 1)
    print("\nlatency, 1 caller, \(direct.count) calls per path")
    let widths = [40, 12, 12, 20]
    print(row(["path", "p50", "p99", "over direct at p50"], widths: widths))
    print(row(["direct PluginHandle.call (same plugin)", formatTime(directP.p50), formatTime(directP.p99), "—"], widths: widths))
    for (label, r) in [("HTTP, Unix socket", unixP), ("HTTP, loopback TCP", tcpP)] {
        print(row([label, formatTime(r.p50), formatTime(r.p99), formatTime(r.p50 - directP.p50)], widths: widths))
    }
    print(row(["GET /healthz, Unix socket (no plugin)", formatTime(healthzP.p50), formatTime(healthzP.p99), "—"], widths: widths))
    let perRequest = { (nanoseconds: Int, count: Int) in formatTime(Double(nanoseconds) / Double(max(count, 1)) / 1e9) }
    print("event-loop CPU per request (mean): call over the Unix socket \(perRequest(unixLoopCPU, overUnix.count)), /healthz \(perRequest(healthzLoopCPU, healthz.count))")
    print("target: HTTP adds ≤ 100 µs at p50; /healthz is a round trip through the router (Hummingbird), with no token, body or plugin")

    // 2. Throughput.
    let library = try await measureLibrary(handles: handles, callers: clients, seconds: seconds)
    let httpUnix = try measureHTTP(connect: unix, targets: targets, clients: clients, seconds: seconds)
    let httpTCP = try measureHTTP(connect: tcp, targets: targets, clients: clients, seconds: seconds)
    print("\nthroughput, \(clients) concurrent callers over \(handles.count) plugins")
    print(row(["path", "calls/s", "p50", "p99"], widths: widths))
    for (label, r) in [("library (PluginHandle.call)", library), ("HTTP, Unix socket", httpUnix), ("HTTP, loopback TCP", httpTCP)] {
        print(row([label, String(format: "%.0f", r.rate), formatTime(r.p50), formatTime(r.p99)], widths: widths))
    }
    print("target: ≥ 5,000 calls/s over HTTP")

    // 3. Tenant B (t1's first plugin, 1 caller on the Unix socket) quiet, then beside tenant A's hog.
    let quiet = try measureHTTP(connect: unix, targets: [first], clients: 1, seconds: seconds)
    let stop = Atomic<Bool>(false)
    let burners = DispatchGroup()
    let hogFailures = Mutex<[String]>([])
    let hogAnswers = Mutex<[Int: Int]>([:])
    for _ in 0..<2 {
        burners.enter()
        Thread {
            defer { burners.leave() }
            do {
                let client = try RawHTTPClient(path: socket)
                while !stop.load(ordering: .relaxed) {
                    // Fill the worker's memory (a no-op once it is full), then spin until the fuel runs out.
                    _ = try client.send("POST", hog.path + "grow", token: hogToken, body: Array("{\"args\":[255]}".utf8))
                    let burn = try client.send("POST", hog.path + "burn", token: hogToken, body: Array("{\"args\":[]}".utf8))
                    // 422: out of fuel (the normal end); 502/503: an out-of-memory kill in its cgroup, a restart.
                    hogAnswers.withLock { $0[burn.status, default: 0] += 1 }
                }
            } catch {
                hogFailures.withLock { $0.append("\(error)") }
            }
        }.start()
    }
    try await Task.sleep(for: .milliseconds(300))
    let noisy = try measureHTTP(connect: unix, targets: [first], clients: 1, seconds: max(seconds, 2))
    stop.store(true, ordering: .relaxed)
    burners.wait()
    if let failure = hogFailures.withLock({ $0.first }) { throw BenchFailure(failure) }
    print("\ntenant B's calls (1 caller, Unix socket) while tenant A's 2 workers spin (20M fuel per call) holding 16 MiB each\(cgroups ? "; A's cgroup: 50% of a core, 64 MiB" : "")")
    print(row(["tenant A", "calls/s", "p50", "p99"], widths: widths))
    for (label, r) in [("quiet", quiet), ("burning its CPU and memory", noisy)] {
        print(row([label, String(format: "%.0f", r.rate), formatTime(r.p50), formatTime(r.p99)], widths: widths))
    }
    print("tenant A's burn calls answered: " + hogAnswers.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.value) × HTTP \($0.key)" }.joined(separator: ", ")
          + " (422: out of fuel; 502/503: an out-of-memory kill in its cgroup, a restart)")

    daemon.beginDraining()
    server.cancel()
    await daemon.shutdown()
}

private func secondsOf(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// CPU time so far of this process's SwiftNIO event-loop threads (`NIO-*`: the daemon's listeners
/// and, through `EventLoopExecutor`, its handlers), from the scheduler's per-thread accounting.
private func eventLoopCPUNanoseconds() -> Int {
    var total = 0
    for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
        guard let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8), name.hasPrefix("NIO-"),
              let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/schedstat", encoding: .utf8),
              let onCPU = stat.split(separator: " ").first.flatMap({ Int($0) }) else { continue }
        total += onCPU
    }
    return total
}

/// `count` requests one after another, each timed; a call with no arguments unless told otherwise.
private func sequential(_ client: RawHTTPClient, _ target: (token: String, path: String), count: Int,
                        method: String = "POST", body: [UInt8] = Array("{\"args\":[]}".utf8)) throws -> [Double] {
    var out: [Double] = []
    out.reserveCapacity(count)
    for _ in 0..<count {
        let t = ContinuousClock.now
        let r = try client.send(method, target.path, token: target.token, body: body)
        out.append(secondsOf(ContinuousClock.now - t))
        guard r.status == 200 else { throw BenchFailure("\(method) \(target.path) answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
    }
    return out
}

/// A port nobody listens on now (bound, read, closed), for the daemon's loopback listener.
private func freeLoopbackPort() throws -> Int {
    let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchFailure("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchFailure("bind 127.0.0.1:0: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw BenchFailure("getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
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
private func measureHTTP(connect: @escaping @Sendable () throws -> RawHTTPClient, targets: [(token: String, path: String)],
                         clients: Int, seconds: Int) throws -> Measured {
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
                let client = try connect()
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

/// A minimal blocking HTTP/1.1 client over a Unix socket or loopback TCP, keep-alive, Content-Length bodies only.
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

    /// Connects to 127.0.0.1:`port`, with Nagle off as any latency-minded client has it.
    init(loopbackPort port: Int) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw BenchFailure("connect 127.0.0.1:\(port): errno \(errno)") }
    }

    deinit { close(fd) }

    /// Sends one request and reads its answer. The client's own work is on the measured path, so it
    /// is kept to what any latency-minded client does: one write, reads into a reused buffer, and a
    /// scan of the head's bytes for the status and Content-Length.
    func send(_ method: String, _ path: String, token: String, body: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: cordon\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchFailure("write: errno \(errno)") }
            sent += n
        }
        var scanned = 0
        var headerEnd = -1
        while headerEnd < 0 {
            while scanned + 4 <= buffer.count {
                if buffer[scanned] == 13, buffer[scanned + 1] == 10, buffer[scanned + 2] == 13, buffer[scanned + 3] == 10 { headerEnd = scanned; break }
                scanned += 1
            }
            if headerEnd < 0 { try fill() }
        }
        // "HTTP/1.1 200 OK": the status is the three digits after the first space.
        guard headerEnd >= 12 else { throw BenchFailure("malformed status line") }
        let status = buffer[9...11].reduce(0) { $0 * 10 + Int($1) - 48 }
        var length = 0
        var line = 0
        while line < headerEnd {
            var next = line
            while next < headerEnd, buffer[next] != 13 { next += 1 }
            // "content-length:" in any case, then the digits.
            if next - line > 15, Self.contentLength.indices.allSatisfy({ buffer[line + $0] | 0x20 == Self.contentLength[$0] }) {
                length = buffer[(line + 15)..<next].reduce(0) { $1 >= 48 && $1 <= 57 ? $0 * 10 + Int($1) - 48 : $0 }
            }
            line = next + 2
        }
        let start = headerEnd + 4
        while buffer.count < start + length { try fill() }
        let out = Array(buffer[start..<(start + length)])
        buffer.removeFirst(start + length)
        return (status, out)
    }

    private static let contentLength = Array("content-length:".utf8)

    private func fill() throws {
        let before = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: 16384))
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + before, 16384) }
        buffer.removeLast(16384 - max(n, 0))
        guard n > 0 else { throw BenchFailure("read: \(n == 0 ? "closed" : "errno \(errno)")") }
    }
}

enum SHA256Hex {
    static func of(_ bytes: [UInt8]) -> String { ServeDigest.sha256Hex(bytes) }
}
