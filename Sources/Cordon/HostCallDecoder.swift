import CordonChannel

/// Turns a worker's `HostCallRequest` (hostile: counts, sizes and UTF-8 unchecked) into a typed call
/// of the application's `HostFunctions`, and runs it. The layouts mirror the worker's ABI table:
/// byte strings in `blobs`, integers (levels, output capacities, milliseconds) in `integers`.
enum HostCallDecoder {
    /// A decoded host call.
    enum Call: Sendable {
        case log(LogLevel, String)
        case getConfig(String, capacity: Int)
        case setConfig(String, String)
        case sendMessage(String, [UInt8])
        case receiveMessage(capacity: Int)
        case callTool(String, [UInt8], capacity: Int)
        case storageGet(String, capacity: Int)
        case storageSet(String, [UInt8])
        case storageDelete(String)
        case randomBytes(Int)
        case nowMilliseconds
        case sleep(Int64)
        case custom(String, [UInt8], capacity: Int)

        /// The guest's output buffer size, for the calls that return bytes.
        var outputCapacity: Int? {
            switch self {
            case .getConfig(_, let capacity), .receiveMessage(let capacity), .callTool(_, _, let capacity),
                 .storageGet(_, let capacity), .custom(_, _, let capacity): capacity
            case .randomBytes(let count): count
            case .log, .setConfig, .sendMessage, .storageSet, .storageDelete, .nowMilliseconds, .sleep: nil
            }
        }
    }

    static let knownFunctions: Set<String> = [
        "host_log", "host_get_config", "host_set_config", "host_send_message", "host_receive_message", "host_call_tool",
        "host_storage_get", "host_storage_set", "host_storage_delete", "host_random_bytes", "host_now_ms", "host_sleep_ms",
    ]

    static func decode(function: String, request: HostCallRequest, maxOutput: UInt32) -> Result<Call, ABIErrorCode> {
        let blobs = request.blobs
        let ints = request.integers
        func shape(_ b: Int, _ i: Int) -> Bool { blobs.count == b && ints.count == i }
        func text(_ bytes: [UInt8]) -> String? { String(validating: bytes, as: UTF8.self) }
        func capacity(_ value: Int64) -> Int? { value >= 0 && value <= Int64(Int32.max) ? Int(value) : nil }
        switch function {
        case "host_log":
            guard shape(1, 1), let level = LogLevel(rawValue: Int(clamping: ints[0])), let message = text(blobs[0]) else { return .failure(.invalidArgument) }
            return .success(.log(level, message))
        case "host_get_config":
            guard shape(1, 1), let key = text(blobs[0]), let cap = capacity(ints[0]) else { return .failure(.invalidArgument) }
            return .success(.getConfig(key, capacity: cap))
        case "host_set_config":
            guard shape(2, 0), let key = text(blobs[0]), let value = text(blobs[1]) else { return .failure(.invalidArgument) }
            return .success(.setConfig(key, value))
        case "host_send_message":
            guard shape(2, 0), let target = text(blobs[0]) else { return .failure(.invalidArgument) }
            return .success(.sendMessage(target, blobs[1]))
        case "host_receive_message":
            guard shape(0, 1), let cap = capacity(ints[0]) else { return .failure(.invalidArgument) }
            return .success(.receiveMessage(capacity: cap))
        case "host_call_tool":
            guard shape(2, 1), let name = text(blobs[0]), let cap = capacity(ints[0]) else { return .failure(.invalidArgument) }
            return .success(.callTool(name, blobs[1], capacity: cap))
        case "host_storage_get":
            guard shape(1, 1), let key = text(blobs[0]), let cap = capacity(ints[0]) else { return .failure(.invalidArgument) }
            return .success(.storageGet(key, capacity: cap))
        case "host_storage_set":
            guard shape(2, 0), let key = text(blobs[0]) else { return .failure(.invalidArgument) }
            return .success(.storageSet(key, blobs[1]))
        case "host_storage_delete":
            guard shape(1, 0), let key = text(blobs[0]) else { return .failure(.invalidArgument) }
            return .success(.storageDelete(key))
        case "host_random_bytes":
            guard shape(0, 1), let count = capacity(ints[0]) else { return .failure(.invalidArgument) }
            guard count <= Int(maxOutput) else { return .failure(.tooLarge) }
            return .success(.randomBytes(count))
        case "host_now_ms":
            guard shape(0, 0) else { return .failure(.invalidArgument) }
            return .success(.nowMilliseconds)
        case "host_sleep_ms":
            guard shape(0, 1), ints[0] >= 0 else { return .failure(.invalidArgument) }
            return .success(.sleep(ints[0]))
        default:
            guard shape(1, 1), let cap = capacity(ints[0]) else { return .failure(.invalidArgument) }
            return .success(.custom(function, blobs[0], capacity: cap))
        }
    }

    /// Runs the call against the application's host; errors become ABI codes.
    static func perform(_ call: Call, host: any HostFunctions, context: PluginContext, sleepCap: Duration) async -> (status: Int64, data: [UInt8]) {
        func failure(_ error: any Error) -> (Int64, [UInt8]) {
            let code = (error as? HostFunctionError)?.code ?? .hostError
            return (Int64(code.rawValue), [])
        }
        func bytes(_ data: [UInt8]) -> (Int64, [UInt8]) { (Int64(data.count), data) }
        do {
            switch call {
            case .log(let level, let message):
                await host.log(context, level: level, message: message)
                return (0, [])
            case .getConfig(let key, _):
                guard let value = try await host.getConfig(context, key: key) else { return (Int64(ABIErrorCode.notFound.rawValue), []) }
                return bytes(Array(value.utf8))
            case .setConfig(let key, let value):
                try await host.setConfig(context, key: key, value: value)
                return (0, [])
            case .sendMessage(let target, let payload):
                try await host.sendMessage(context, to: target, payload: payload)
                return (0, [])
            case .receiveMessage:
                guard let message = try await host.receiveMessage(context) else { return (Int64(ABIErrorCode.notFound.rawValue), []) }
                return bytes(message)
            case .callTool(let name, let arguments, _):
                return bytes(try await host.callTool(context, name: name, arguments: arguments))
            case .storageGet(let key, _):
                guard let value = try await host.storageGet(context, key: key) else { return (Int64(ABIErrorCode.notFound.rawValue), []) }
                return bytes(value)
            case .storageSet(let key, let value):
                try await host.storageSet(context, key: key, value: value)
                return (0, [])
            case .storageDelete(let key):
                return try await host.storageDelete(context, key: key) ? (0, []) : (Int64(ABIErrorCode.notFound.rawValue), [])
            case .randomBytes(let count):
                let data = await host.randomBytes(context, count: count)
                return data.count == count ? bytes(data) : (Int64(ABIErrorCode.hostError.rawValue), [])
            case .nowMilliseconds:
                return (await host.nowMilliseconds(context), [])
            case .sleep(let ms):
                // Never sleep past the call's wall-time limit: the kill would come first anyway.
                let capMs = max(0, sleepCap.components.seconds * 1000 + sleepCap.components.attoseconds / 1_000_000_000_000_000)
                await host.sleep(context, milliseconds: min(ms, capMs))
                return (0, [])
            case .custom(let name, let input, _):
                return bytes(try await host.custom(context, function: name, input: input))
            }
        } catch {
            return failure(error)
        }
    }
}

extension ABIErrorCode: Error {}
