import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Serves the call route (`POST /v1/plugins/{id}/calls/{export}`, `CallEndpoint`) on the
/// connection's event loop, in the pipeline ahead of Hummingbird's router; every other request
/// passes through to the router untouched.
///
/// Why: a call is the request the daemon serves most, and through the router's async machinery
/// (the request's body as an async sequence, the responder chain, the async channel's writer) a
/// request cost the event loop several times the parsing and writing it needs
/// (docs/performance.md, "Daemon"). Here the head is checked as it arrives, the body gathered
/// up to its limit, the call started on the supervisor's reactor with a completion, and the
/// answer written when the reactor hands it back: no task, no async sequence.
///
/// Order: HTTP/1.1 answers in request order, and a client may pipeline. An answer is owed from a
/// request's head until its answer's end is written, ours or the router's (whose writes pass
/// through here). A head that arrives while one is owed is held, with everything after it, and
/// reading stops (so what is held is at most one read's worth); the held events are replayed once
/// nothing is owed. A parse error or the end of input that arrives while our call runs waits the
/// same way, so the router never answers or closes ahead of it.
final class CallRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The request being read.
    private enum Reading {
        /// Between requests.
        case idle
        /// The router's: its parts pass through.
        case forwarding
        /// Ours, admitted: its body is gathered up to the limit.
        case gathering(CallEndpoint.Admitted, body: [UInt8], close: Bool)
        /// Ours, already answered (refused): the rest of its body is dropped.
        case discarding
    }

    private enum Held {
        case read(NIOAny)
        case error(any Error)
        case event(Any)
    }

    private let endpoint: CallEndpoint
    private let date: HTTPDateHeader
    private var reading = Reading.idle
    /// Answers the router owes: heads forwarded to it, less the answer ends it wrote.
    private var routerOwes = 0
    /// Our call has its whole request and runs: its answer is owed.
    private var callRunning = false
    /// The request of the running call said `Connection: close`.
    private var closeAfterCall = false
    /// The path of our request being read or run (without its query), for the audit of a refusal.
    private var requestPath: Substring = ""
    private var holding = false
    private var held = CircularBuffer<Held>()
    private var readDeferred = false
    private var removed = false

    init(endpoint: CallEndpoint, date: HTTPDateHeader) {
        self.endpoint = endpoint
        self.date = date
    }

    private var owesAnswer: Bool { routerOwes > 0 || callRunning }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        held.removeAll()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if holding { return hold(.read(data)) }
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if owesAnswer { return hold(.read(data)) }
            guard head.method == .post, let path = head.path, let route = CallEndpoint.parameters(ofPath: path) else {
                reading = .forwarding
                routerOwes += 1
                return context.fireChannelRead(data)
            }
            let fields = head.headerFields
            let contentLength = fields[.contentLength]
            let close = fields[.connection]?.lowercased() == "close"
            requestPath = route.path
            do {
                let admitted = try endpoint.admit(authorization: fields[.authorization], contentType: fields[.contentType],
                                                  contentLength: contentLength, id: route.id, export: route.export)
                var body: [UInt8] = []
                if let declared = contentLength.flatMap(Int.init), declared > 0 { body.reserveCapacity(min(declared, admitted.bodyLimit)) }
                reading = .gathering(admitted, body: body, close: close)
                // A client that waits for leave to send its body (curl does, for large ones) gets it
                // once the head has passed every check; a refusal instead is answered at once.
                if fields[.expect]?.lowercased() == "100-continue" {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            } catch {
                reading = .discarding
                answer(refusing: error, close: close, context: context)
            }
        case .body(let chunk):
            switch reading {
            case .forwarding, .idle:
                context.fireChannelRead(data)
            case .gathering(let admitted, var body, let close):
                reading = .discarding   // drops the array's other reference while it grows
                guard body.count + chunk.readableBytes <= admitted.bodyLimit else {
                    return answer(refusing: endpoint.tooLarge(admitted), close: close, context: context)
                }
                body.append(contentsOf: chunk.readableBytesView)
                reading = .gathering(admitted, body: body, close: close)
            case .discarding:
                break
            }
        case .end:
            switch reading {
            case .forwarding, .idle:
                reading = .idle
                context.fireChannelRead(data)
            case .gathering(let admitted, let body, let close):
                reading = .idle
                start(admitted, body: body, close: close, context: context)
            case .discarding:
                reading = .idle
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !holding, !callRunning else { return hold(.error(error)) }
        // A request of ours cut short by a parse error is the router's to answer (400, then close).
        abandonPartialRequest()
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !holding, !callRunning else { return hold(.event(event)) }
        // The end of input cuts short a request of ours that is still being read: the router then
        // ends the connection. Any other event leaves it be.
        if case ChannelEvent.inputClosed? = event as? ChannelEvent { abandonPartialRequest() }
        context.fireUserInboundEventTriggered(event)
    }

    /// Keeps `event` for after the answers owed, with everything that follows it.
    private func hold(_ event: Held) {
        holding = true
        held.append(event)
    }

    private func abandonPartialRequest() {
        switch reading {
        case .gathering, .discarding: reading = .idle
        case .idle, .forwarding: break
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        if isEnd {
            // A 400 for a parse error ends an answer no forwarded head asked for.
            routerOwes = max(0, routerOwes - 1)
            releaseHeldSoon(context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if holding { readDeferred = true } else { context.read() }
    }

    // MARK: Calls and answers

    private func start(_ admitted: CallEndpoint.Admitted, body: [UInt8], close: Bool, context: ChannelHandlerContext) {
        callRunning = true
        closeAfterCall = close
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        endpoint.start(admitted, body: body) { outcome in
            // On the reactor thread (or here, for a refusal before the call): the answer is written
            // on the connection's loop.
            if loop.inEventLoop {
                bound.value.handler.finish(outcome, context: bound.value.context)
            } else {
                loop.execute { bound.value.handler.finish(outcome, context: bound.value.context) }
            }
        }
    }

    private func finish(_ outcome: Result<APIAnswer, Refusal>, context: ChannelHandlerContext) {
        callRunning = false
        guard !removed else { return }
        switch outcome {
        case .success(let answer): write(answer, close: closeAfterCall, context: context)
        case .failure(let refusal): answer(refusing: refusal, close: closeAfterCall, context: context)
        }
    }

    /// Audits and writes a refusal of our request.
    private func answer(refusing error: any Error, close: Bool, context: ChannelHandlerContext) {
        let refusal = error as? Refusal ?? Refusal(error: APIError(500, "internal", "\(error)"))
        endpoint.daemon.recordRefusal(tenant: refusal.tenant, plugin: refusal.plugin, method: "POST", path: String(requestPath),
                                      error: refusal.error)
        write(.refusal(refusal.error), close: close, context: context)
    }

    private func write(_ answer: APIAnswer, close: Bool, context: ChannelHandlerContext) {
        var headers = answer.headers
        headers[.contentLength] = String(answer.body.readableBytes)
        headers[.date] = date.value
        headers[.server] = "cordon"
        if close { headers[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: headers))), promise: nil)
        if answer.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(answer.body)), promise: nil) }
        if close {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            releaseHeldSoon(context: context)
        }
    }

    /// Replays the held events once nothing is owed, after the current event-loop task: never from
    /// inside a write that passes through, where it would re-enter the router's channel.
    private func releaseHeldSoon(context: ChannelHandlerContext) {
        guard holding, !owesAnswer else { return }
        context.eventLoop.assumeIsolated().execute { self.releaseHeld(context: context) }
    }

    private func releaseHeld(context: ChannelHandlerContext) {
        guard holding, !owesAnswer, !removed else { return }
        holding = false
        var queue = CircularBuffer<Held>()
        swap(&queue, &held)
        while let event = queue.popFirst() {
            // A head replayed while an answer is owed (the one before it started a call, or went to
            // the router) holds again: it and the rest keep their order.
            if holding { held.append(event); continue }
            switch event {
            case .read(let data): channelRead(context: context, data: data)
            case .error(let error): errorCaught(context: context, error: error)
            case .event(let event): userInboundEventTriggered(context: context, event: event)
            }
        }
        context.fireChannelReadComplete()
        if !holding, readDeferred {
            readDeferred = false
            context.read()
        }
    }
}
