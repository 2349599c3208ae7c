import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The daemon's HTTP/1.1 connection: Hummingbird's `HTTP1Channel` pipeline with the call route's
/// handler (`CallRequestHandler`) between the connection-state handler and the router's channel.
///
/// There, and not among `HTTP1Channel`'s additional handlers (which sit ahead of the connection
/// state), the idle timeout and graceful shutdown see the call route's requests and answers like
/// every other: a connection with a call running is neither timed out nor closed under it.
struct APIChannel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration
    let calls: CallEndpoint
    let date: HTTPDateHeader

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // As HTTP1Channel: no pipelining assistance (requests are answered in order, here and
            // by the router), errors answered by Hummingbird, header limits at its defaults.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldCount = 1000
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try channel.pipeline.syncOperations.addHandler(CallRequestHandler(endpoint: calls, date: date))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
