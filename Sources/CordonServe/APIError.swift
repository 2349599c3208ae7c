import Cordon

/// An API refusal: the HTTP status, a stable machine code and a message a person can act on.
/// Rendered as `{"error":{"code":…,"message":…}}` and audited with its tenant.
public struct APIError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String
    /// Extra members of the `error` object (what the library's `CordonError` carries).
    public var details: [(String, JSONText)] = []

    public init(_ status: Int, _ code: String, _ message: String, details: [(String, JSONText)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    static let unauthorized = APIError(401, "unauthorized", "missing or wrong bearer token")
    static let notFoundPlugin = APIError(404, "not_found", "no such plugin")
    static let draining = APIError(503, "shutting_down", "the daemon is shutting down")

    static func badInput(_ error: JSONInputError) -> APIError { APIError(400, "invalid_request", error.description) }

    var json: String {
        var members = ["\"code\":\(JSONText.string(code).text)", "\"message\":\(JSONText.string(message).text)"]
        for (key, value) in details { members.append("\(JSONText.string(key).text):\(value.text)") }
        return "{\"error\":{\(members.joined(separator: ","))}}"
    }

    /// The HTTP answer for a library error, with its fields.
    static func from(_ error: CordonError) -> APIError {
        switch error {
        case .trapped(let export, let kind, let message):
            return APIError(422, "trapped", error.description,
                            details: [("export", .string(export)), ("trap", .string("\(kind)")), ("detail", .string(message))])
        case .limitExceeded(let limit, let value, let measured, let export):
            var d: [(String, JSONText)] = [("limit", .string(limit.rawValue)), ("value", .string(value)), ("measured", .string(measured))]
            if let export { d.append(("export", .string(export))) }
            return APIError(422, "limit_exceeded", error.description, details: d)
        case .sandboxViolation(let syscall, let number, let by):
            return APIError(403, "sandbox_violation", error.description,
                            details: [("syscall", .string(syscall)), ("number", .int(Int64(number))), ("reported_by", .string(by))])
        case .invalidModule(let stage, let message):
            return APIError(422, "invalid_module", error.description, details: [("stage", .string(stage)), ("detail", .string(message))])
        case .noSuchExport(let name):
            return APIError(404, "no_such_export", error.description, details: [("export", .string(name))])
        case .invalidArguments(let export, let reason):
            return APIError(400, "invalid_arguments", error.description, details: [("export", .string(export)), ("detail", .string(reason))])
        case .invalidManifest, .invalidPolicy:
            return APIError(422, "invalid_manifest", error.description)
        case .unavailable(_, let state):
            return APIError(503, "unavailable", error.description, details: [("state", .string(state.rawValue))])
        case .alreadyLoaded(let name, _):
            // The library's id of the other load means nothing to an API client: only the name is said.
            return APIError(409, "conflict", "a plugin named '\(name)' is already loaded in this tenant",
                            details: [("name", .string(name))])
        case .unsupportedSignature(let export, let type):
            return APIError(400, "invalid_arguments", error.description, details: [("export", .string(export)), ("type", .string(type))])
        case .encodingFailed(let export, let reason), .decodingFailed(let export, let reason):
            return APIError(500, "internal", error.description, details: [("export", .string(export)), ("detail", .string(reason))])
        case .initFailed(_, let status):
            return APIError(422, "init_failed", error.description, details: [("status", .int(Int64(status)))])
        case .shuttingDown:
            return APIError(503, "shutting_down", error.description)
        case .workerDied(let reason):
            return APIError(502, "worker_died", error.description, details: [("detail", .string(reason))])
        case .protocolViolation(let reason):
            return APIError(502, "protocol_violation", error.description, details: [("detail", .string(reason))])
        case .timedOut:
            return APIError(504, "timed_out", error.description)
        case .audit:
            return APIError(503, "audit_unavailable", error.description)
        case .fileNotFound, .unreadableFile, .invalidConfiguration, .spawnFailed, .confinementFailed:
            return APIError(500, "internal", error.description)
        }
    }
}
