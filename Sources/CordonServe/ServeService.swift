import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Runs the daemon: restores its plugins, serves the API on the Unix socket and/or TCP, and on
/// SIGTERM or SIGINT drains (new requests get 503, in-flight calls finish within the grace
/// period), then stops every worker and closes the audit log.
public struct ServeService {
    public let daemon: ServeDaemon

    public init(daemon: ServeDaemon) { self.daemon = daemon }

    public func run() async throws {
        var configuration = daemon.configuration
        // Checked before any plugin is restored: a bad certificate stops the start, not a handshake.
        try configuration.loadTLS()
        let logger = daemon.logger
        try await daemon.restore()
        // One group for the listeners and for the executors that run their handlers: a handler is
        // pinned to the loop of its own connection, never to a loop of some other group.
        let eventLoops = MultiThreadedEventLoopGroup.singleton
        let executor = EventLoopExecutor(group: eventLoops)
        let router = APIRoutes(daemon: daemon, executor: executor).router()
        let idleTimeout = configuration.idleTimeout
        let calls = CallEndpoint(daemon: daemon)
        let date = HTTPDateHeader()
        let server = HTTPServerBuilder { responder in
            APIChannel(responder: responder, idleTimeout: idleTimeout, calls: calls, date: date)
        }
        // Shut down in reverse order: the gate (503 from now on), then the listeners (in-flight
        // requests finish), then the daemon (workers stopped, audit log closed).
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: DaemonStopper(daemon: daemon))]
        if let path = configuration.unixSocket {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if unlink(path) != 0 && errno != ENOENT { throw ServeStartError("cannot remove the old socket \(path): errno \(errno)") }
            let app = Application(router: router, server: server,
                                  configuration: .init(address: .unixDomainSocket(path: path), serverName: "cordon",
                                                       availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
                                  onServerRunning: { _ in
                                      // Owner and group only: the socket is the API's door.
                                      if chmod(path, 0o660) != 0 { logger.error("chmod 0660 \(path) failed: errno \(errno)") }
                                      logger.info("listening on unix:\(path)")
                                  }, eventLoopGroupProvider: .shared(eventLoops), logger: logger)
            services.append(.init(service: app))
        }
        if let host = configuration.tcpHost, let port = configuration.tcpPort {
            // The TLS handshake runs inside the connection's idle timeout, so a client that stalls
            // mid-handshake is closed like any other slow client.
            let tcpServer = try configuration.tls.map { try HTTPServerBuilder.tls(server, tlsConfiguration: $0.configuration) } ?? server
            let scheme = configuration.tls == nil ? "http" : "https"
            let app = Application(router: router, server: tcpServer,
                                  configuration: .init(address: .hostname(host, port: port), serverName: "cordon",
                                                       availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
                                  onServerRunning: { _ in logger.info("listening on tcp:\(host):\(port) (\(scheme))") },
                                  eventLoopGroupProvider: .shared(eventLoops), logger: logger)
            services.append(.init(service: app))
        }
        services.append(.init(service: DrainGate(daemon: daemon), successTerminationBehavior: .gracefullyShutdownGroup))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                           cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        let group = ServiceGroup(configuration: groupConfiguration)
        // The listeners' connection tasks inherit this preference: requests are handled on the
        // event loops that serve their sockets (EventLoopExecutor says why).
        try await withTaskExecutorPreference(executor) {
            try await group.run()
        }
    }
}

public struct ServeStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Raises the drain flag the moment graceful shutdown starts.
struct DrainGate: Service {
    let daemon: ServeDaemon
    func run() async throws {
        try? await gracefulShutdown()
        daemon.beginDraining()
    }
}

/// Stops the supervisors and closes the audit log once the listeners have drained.
struct DaemonStopper: Service {
    let daemon: ServeDaemon
    func run() async throws {
        try? await gracefulShutdown()
        await daemon.shutdown()
    }
}
