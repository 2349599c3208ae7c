import Cordon
import Hummingbird
import NIOCore

/// The call route, `POST /v1/plugins/{id}/calls/{export}`, apart from its HTTP framing: what the
/// request's head decides, then the call and its answer. `CallRequestHandler` serves it on the
/// connection's event loop.
///
/// The checks run in the order the API documents (docs/serve.md): drain, token, plugin, export,
/// body size (as declared, then as read), arguments, the tenant's call quota.
struct CallEndpoint: Sendable {
    let daemon: ServeDaemon

    /// A call whose head passed every check that needs no body.
    struct Admitted: Sendable {
        let tenant: Tenant
        let pluginID: String
        let handle: PluginHandle
        let export: String
        let signature: ExportedFunction
        /// `application/octet-stream`: the body is the input bytes, and the answer is the output's.
        let bytesConvention: Bool
        let bodyLimit: Int
    }

    /// The path without its query, the plugin id and the export of a request target of the route's
    /// shape (`/v1/plugins/ID/calls/EXPORT`, a query ignored), not percent-decoded, like the
    /// router's parameters; nil for any other target. Read as bytes: it runs on every request.
    static func parameters(ofPath target: String) -> (path: Substring, id: Substring, export: Substring)? {
        let utf8 = target.utf8
        let end = utf8.firstIndex(of: UInt8(ascii: "?")) ?? utf8.endIndex
        let prefix = "/v1/plugins/".utf8, calls = "/calls/".utf8
        guard utf8[..<end].starts(with: prefix) else { return nil }
        let idStart = utf8.index(utf8.startIndex, offsetBy: prefix.count)
        guard let slash = utf8[idStart..<end].firstIndex(of: UInt8(ascii: "/")), slash > idStart,
              utf8[slash..<end].starts(with: calls) else { return nil }
        let exportStart = utf8.index(slash, offsetBy: calls.count)
        guard exportStart < end, !utf8[exportStart..<end].contains(UInt8(ascii: "/")) else { return nil }
        return (target[..<end], target[idStart..<slash], target[exportStart..<end])
    }

    /// The checks of the request's head. `contentLength` is the declared body length, if any.
    func admit(authorization: String?, contentType: String?, contentLength: String?,
               id: Substring, export: Substring) throws(Refusal) -> Admitted {
        if daemon.isDraining { throw Refusal(error: .draining) }
        guard let tenant = daemon.authenticate(authorization) else { throw Refusal(error: .unauthorized) }
        let id = String(id)
        func refuse(_ error: APIError) -> Refusal { Refusal(tenant: tenant.name, plugin: id, error: error) }
        // Another tenant's id and a malformed one answer exactly like an unknown id.
        guard PluginSpec.isSafeName(id), let plugin = tenant.plugin(id) else { throw refuse(.notFoundPlugin) }
        guard let handle = plugin.handle else {
            throw refuse(APIError(503, "unavailable", "plugin \(id) is not loaded: \(plugin.loadError ?? "unknown reason")"))
        }
        let export = String(export)
        guard let signature = plugin.exports[export] else {
            throw refuse(APIError(404, "no_such_export", "plugin \(id) has no export '\(export)'",
                                  details: [("exports", .array(plugin.exports.keys.sorted().map { .string($0) }))]))
        }
        let bytesConvention = contentType?.lowercased().hasPrefix("application/octet-stream") ?? false
        let limit = bytesConvention ? daemon.configuration.maxCallBody : daemon.configuration.maxJSONBody
        if let declared = contentLength.flatMap(Int.init), declared > limit {
            throw refuse(APIError(413, "too_large", "call body of \(declared) bytes is over the limit of \(limit)"))
        }
        return Admitted(tenant: tenant, pluginID: id, handle: handle, export: export, signature: signature,
                        bytesConvention: bytesConvention, bodyLimit: limit)
    }

    /// The refusal of a body that grew past its limit as it was read.
    func tooLarge(_ call: Admitted) -> Refusal {
        Refusal(tenant: call.tenant.name, plugin: call.pluginID,
                error: APIError(413, "too_large", "call body is over the limit of \(call.bodyLimit) bytes"))
    }

    /// Parses the arguments, takes a place in the tenant's call quota and starts the call.
    /// `completion` runs exactly once: at once for a refusal before the call, else on the
    /// supervisor's reactor thread when the call ends.
    func start(_ call: Admitted, body: [UInt8], completion: @escaping @Sendable (Result<APIAnswer, Refusal>) -> Void) {
        @Sendable func refuse(_ error: APIError) -> Result<APIAnswer, Refusal> {
            .failure(Refusal(tenant: call.tenant.name, plugin: call.pluginID, error: error))
        }
        var arguments: [WasmValue] = []
        if !call.bytesConvention {
            do { arguments = try CallArguments.parse(body, for: call.signature) } catch { return completion(refuse(.badInput(error))) }
        }
        do { try call.tenant.admitCall() } catch { return completion(refuse(error)) }
        let tenant = call.tenant
        let bytesConvention = call.bytesConvention
        call.handle.startCall(call.export, arguments, input: bytesConvention ? body : nil) { outcome in
            tenant.finishCall()
            switch outcome.flatMap({ report in Self.answer(report, bytesConvention: bytesConvention) }) {
            case .success(let answer): completion(.success(answer))
            case .failure(let error): completion(refuse(.from(error)))
            }
        }
    }

    /// A finished call's answer: the results as JSON, or the output bytes with the call's cost in
    /// headers. Output of the other convention than the request's is the worker's protocol violation.
    private static func answer(_ report: CallReport<CallValue>, bytesConvention: Bool) -> Result<APIAnswer, CordonError> {
        switch (report.output, bytesConvention) {
        case (.bytes(let output), true):
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.init("Cordon-Fuel-Used")!] = String(report.fuelUsed)
            headers[.init("Cordon-Duration-Ms")!] = milliseconds(report.duration)
            return .success(APIAnswer(status: .ok, headers: headers, body: ByteBuffer(bytes: output)))
        case (.values(let values), false):
            // The keys are fixed ASCII: the answer is written in one interpolation, not assembled
            // member by member, on the path every call takes.
            let results = values.map { CallArguments.json($0).text }.joined(separator: ",")
            return .success(.json(200, "{\"results\":[\(results)],\"fuel_used\":\(report.fuelUsed),\"duration_ms\":\(milliseconds(report.duration))}"))
        case (.values, true):
            return .failure(.protocolViolation("values returned for a bytes call"))
        case (.bytes, false), (.command, _):
            return .failure(.protocolViolation("bytes returned for a value call"))
        }
    }

    /// Milliseconds with three decimals, rounded to the microsecond. Integer arithmetic: Foundation's
    /// `String(format:)` cost a few microseconds per call answered, on the daemon's hot path.
    static func milliseconds(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        let micros = max(0, seconds) * 1_000_000 + (max(0, attoseconds) + 500_000_000_000) / 1_000_000_000_000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
