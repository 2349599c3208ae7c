import ArgumentParser
import CordonServe
import Foundation
import Logging

/// `cordon serve --config FILE`: the multi-tenant daemon (docs/serve.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the multi-tenant daemon: plugins kept loaded, called over HTTP (Unix socket and/or loopback TCP).",
        discussion: "The config is JSON (docs/serve.md); a bad one is refused with the JSON path of the problem (exit 65). SIGTERM drains in-flight calls, then stops workers and closes the audit log.")

    @Option(name: .long, help: "The daemon's JSON configuration file.")
    var config: String

    func run() async throws {
        let configuration: ServeConfiguration
        do { configuration = try ServeConfiguration.load(path: config) } catch {
            Terminal.error("error: \(config): \(error)")
            throw ExitCode(ExitStatus.invalidInput)
        }
        // Sockets, the audit log and the database are created owner+group only.
        umask(0o007)
        var logger = Logger(label: "cordon.serve", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = Logger.Level.info
        let daemon: ServeDaemon
        do { daemon = try ServeDaemon(configuration: configuration, logger: logger) } catch {
            Terminal.error("error: cannot start: \(error)")
            throw ExitCode(ExitStatus.ioError)
        }
        do { try await ServeService(daemon: daemon).run() } catch {
            Terminal.error("error: \(error)")
            await daemon.shutdown()
            throw ExitCode(ExitStatus.ioError)
        }
    }
}
