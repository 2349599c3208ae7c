import Cordon
import Crypto
import Foundation
import Hummingbird

/// A refusal on its way to the error middleware, with the tenant it is audited under.
struct Refusal: Error {
    var tenant: String?
    var plugin: String?
    var error: APIError
}

/// The HTTP API of `cordon serve` (README, docs/serve.md). Every handler checks the drain flag and
/// the bearer token first, bounds its body before reading it, and answers errors as JSON.
struct APIRoutes: Sendable {
    let daemon: ServeDaemon
    /// The server-wide executor, over the event loops that serve the listeners' sockets.
    let executor: EventLoopExecutor

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: APIErrorMiddleware(daemon: daemon))
        router.get("/healthz") { _, _ -> Response in
            if daemon.isDraining { throw Refusal(error: .draining) }
            return Self.json(200, #"{"status":"ok"}"#)
        }
        router.put("/v1/modules") { request, _ in try await putModule(request) }
        router.post("/v1/plugins") { request, _ in try await createPlugin(request) }
        router.get("/v1/plugins") { request, _ in try await listPlugins(request) }
        router.get("/v1/plugins/:id") { request, context in try await getPlugin(request, context.parameters.get("id")) }
        router.delete("/v1/plugins/:id") { request, context in try await deletePlugin(request, context.parameters.get("id")) }
        router.post("/v1/plugins/:id/calls/:export") { request, context in
            try await call(request, context.parameters.get("id"), context.parameters.get("export"))
        }
        router.get("/v1/events") { request, _ in try await events(request) }
        router.get("/metrics") { request, _ -> Response in
            if daemon.isDraining { throw Refusal(error: .draining) }
            guard daemon.isAdmin(request.headers[.authorization]) else { throw Refusal(error: .unauthorized) }
            let text = await daemon.metrics.scrape(daemon)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }

    // MARK: Handlers

    /// Runs `body` for the request's tenant; refusals carry the tenant's name to the audit log.
    private func withTenant(_ request: Request, plugin: String? = nil,
                            _ body: (Tenant) async throws(APIError) -> Response) async throws -> Response {
        if daemon.isDraining { throw Refusal(error: .draining) }
        guard let tenant = daemon.authenticate(request.headers[.authorization]) else { throw Refusal(error: .unauthorized) }
        do { return try await body(tenant) } catch { throw Refusal(tenant: tenant.name, plugin: plugin, error: error) }
    }

    private func collect(_ request: Request, limit: Int, what: String) async throws(APIError) -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(413, "too_large", "\(what) of \(declared) bytes is over the limit of \(limit)")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw APIError(413, "too_large", "\(what) is over the limit of \(limit) bytes")
        }
    }

    private func putModule(_ request: Request) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            let quota = tenant.configuration.quota.moduleBytes
            let bytes = try await collect(request, limit: quota, what: "module")
            // Only the header is checked here: parsing untrusted wasm is the confined worker's job,
            // and a load reports an invalid module as 422 with the worker's reason.
            guard bytes.count >= 8, bytes.starts(with: [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]) else {
                throw APIError(422, "invalid_module", "not a WebAssembly binary module (version 1): the first 8 bytes must be \\0asm 01 00 00 00")
            }
            let digest = Hex.encode(SHA256.hash(data: bytes))
            do {
                let used = try await tenant.store.moduleBytesTotal(tenant: tenant.name)
                if try await tenant.store.module(tenant: tenant.name, sha256: digest) != nil {
                    return Self.json(200, "{\"sha256\":\"\(digest)\"}")
                }
                guard used + bytes.count <= quota else {
                    throw APIError(413, "quota_exceeded", "module bytes quota \(quota) would be exceeded (\(used) stored, \(bytes.count) sent)",
                                   details: [("quota", .string("module_bytes"))])
                }
                let created = try await tenant.store.putModule(tenant: tenant.name, sha256: digest, bytes: bytes)
                return Self.json(created ? 201 : 200, "{\"sha256\":\"\(digest)\"}")
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError(500, "state_write_failed", "could not store the module: \(error)")
            }
        }
    }

    private func createPlugin(_ request: Request) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            let body = try await collect(request, limit: daemon.configuration.maxJSONBody, what: "request body")
            let spec: PluginSpec
            do { spec = try PluginSpec.parse(body) } catch let error as JSONInputError {
                throw APIError(422, "invalid_manifest", error.description, details: [("path", .string(error.path))])
            } catch { throw APIError(422, "invalid_manifest", "\(error)") }
            let plugin = try await tenant.create(spec: spec, specBytes: body)
            return Self.json(201, Self.summary(plugin, state: plugin.handle == nil ? "failed" : "ready").text)
        }
    }

    private func listPlugins(_ request: Request) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            var items: [JSONText] = []
            for plugin in tenant.plugins() { items.append(await Self.detail(plugin)) }
            return Self.json(200, JSONText.object([("plugins", .array(items))]).text)
        }
    }

    private func getPlugin(_ request: Request, _ id: String?) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            // Another tenant's id and a malformed one answer exactly like an unknown id.
            guard let id, PluginSpec.isSafeName(id), let plugin = tenant.plugin(id) else { throw .notFoundPlugin }
            return Self.json(200, await Self.detail(plugin).text)
        }
    }

    private func deletePlugin(_ request: Request, _ id: String?) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            guard let id, PluginSpec.isSafeName(id) else { throw .notFoundPlugin }
            try await tenant.delete(id)
            return Response(status: .noContent)
        }
    }

    /// The call route, for a request `CallRequestHandler` leaves to the router (a path of another
    /// shape that the router still matches): the same checks and answer, through `CallEndpoint`.
    private func call(_ request: Request, _ id: String?, _ export: String?) async throws -> Response {
        let endpoint = CallEndpoint(daemon: daemon)
        let admitted = try endpoint.admit(authorization: request.headers[.authorization], contentType: request.headers[.contentType],
                                          contentLength: request.headers[.contentLength], id: Substring(id ?? ""), export: Substring(export ?? ""))
        let body: [UInt8]
        do {
            let buffer = try await request.body.collect(upTo: admitted.bodyLimit)
            body = Array(buffer.readableBytesView)
        } catch {
            throw endpoint.tooLarge(admitted)
        }
        // Resume on this connection's event loop after the worker answers, so the response is
        // written there without another thread hand-off.
        return try await withTaskExecutorPreference(executor.pinnedToCurrentLoop()) {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<APIAnswer, any Error>) in
                endpoint.start(admitted, body: body) { continuation.resume(with: $0.mapError { $0 }) }
            }.response
        }
    }

    private func events(_ request: Request) async throws -> Response {
        try await withTenant(request) { tenant throws(APIError) in
            let stream = tenant.supervisor.events
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                // Events merged with a one-second tick: the tick notices a closed client (its write
                // fails) and a drain (the stream ends) even when the tenant's plugins are quiet.
                let (merged, continuation) = AsyncStream<String?>.makeStream(bufferingPolicy: .bufferingNewest(1024))
                let forward = Task {
                    for await event in stream {
                        let id = tenant.daemonID(forLibraryID: event.pluginID)
                        continuation.yield(JSONText.object([
                            ("plugin_id", id.map { .string($0) } ?? .null), ("plugin", .string(event.pluginName)),
                            ("worker_pid", event.workerPID.map { .int(Int64($0)) } ?? .null), ("event", .string("\(event.kind)")),
                        ]).text)
                    }
                    continuation.finish()
                }
                let tick = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        continuation.yield(nil)
                    }
                }
                defer {
                    forward.cancel()
                    tick.cancel()
                    continuation.finish()
                }
                try await writer.write(ByteBuffer(string: ": cordon events for tenant \(tenant.name)\n\n"))
                for await item in merged {
                    if daemon.isDraining { break }
                    try await writer.write(ByteBuffer(string: item.map { "data: \($0)\n\n" } ?? ": tick\n\n"))
                }
                try await writer.finish(nil)
            })
        }
    }

    // MARK: Rendering

    static func json(_ status: Int, _ body: String) -> Response { APIAnswer.json(status, body).response }

    static func summary(_ plugin: Tenant.Plugin, state: String) -> JSONText {
        .object([("id", .string(plugin.id)), ("name", .string(plugin.spec.name)), ("state", .string(state))])
    }

    static func detail(_ plugin: Tenant.Plugin) async -> JSONText {
        var members: [(String, JSONText)] = [
            ("id", .string(plugin.id)), ("name", .string(plugin.spec.name)), ("version", .string(plugin.spec.version)),
            ("module_sha256", .string(plugin.spec.moduleSHA256)), ("policy", .string(plugin.spec.policy)),
            ("grant", .array(plugin.spec.grant.map { .string($0) })), ("workers", .int(Int64(plugin.spec.workers))),
        ]
        if let handle = plugin.handle {
            let m = await handle.metrics()
            members.append(("state", .string(await handle.state().rawValue)))
            members.append(("exports", .array(plugin.exports.keys.sorted().map { .string($0) })))
            members.append(("metrics", .object([
                ("calls", .uint(m.calls)), ("errors", .uint(m.errors)), ("traps", .uint(m.traps)),
                ("fuel_used", .uint(m.fuelUsed)), ("host_calls", .uint(m.hostCalls)),
                ("capability_denials", .uint(m.capabilityDenials)), ("restarts", .uint(m.restarts)),
                ("memory_pages", .uint(UInt64(m.memoryPages))),
            ])))
            members.append(("worker_pids", .array(m.workerPIDs.map { .int(Int64($0)) })))
        } else {
            members.append(("state", .string("failed")))
            members.append(("error", .string(plugin.loadError ?? "not loaded")))
        }
        return .object(members)
    }
}

/// Turns every error a handler (or the router: unknown route, oversized body) throws into the
/// API's JSON error, and audits it with its tenant.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let daemon: ServeDaemon

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let refusal: Refusal
        do {
            return try await next(request, context)
        } catch let r as Refusal {
            refusal = r
        } catch let e as APIError {
            refusal = Refusal(error: e)
        } catch let e as any HTTPResponseError {
            let status = Int(e.status.code)
            let code = status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : status == 413 ? "too_large" : "bad_request"
            refusal = Refusal(error: APIError(status, code, e.status.reasonPhrase))
        } catch {
            refusal = Refusal(error: APIError(500, "internal", "\(error)"))
        }
        daemon.recordRefusal(tenant: refusal.tenant, plugin: refusal.plugin, method: request.method.rawValue,
                             path: request.uri.path, error: refusal.error)
        return APIAnswer.refusal(refusal.error).response
    }
}
