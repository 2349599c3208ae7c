import ArgumentParser
import Cordon
import Foundation

/// `cordon run PROG.wasm` without `--export`: the module runs as a WASI command.
enum WASICommand {
    /// `HOST[::GUEST]` → a preopen; the guest path defaults to the host path.
    static func preopens(_ specs: [String], readOnly: Bool) -> [WASIPreopen] {
        specs.map { spec in
            guard let range = spec.range(of: "::") else { return WASIPreopen(hostPath: spec, guestPath: spec, readOnly: readOnly) }
            return WASIPreopen(hostPath: String(spec[..<range.lowerBound]), guestPath: String(spec[range.upperBound...]),
                               readOnly: readOnly)
        }
    }

    /// The program's arguments: everything after the file, without a leading `--`.
    static func programArguments(_ arguments: [String]) -> [String] {
        arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
    }

    /// Loads, runs `_start` with the CLI's stdin, writes stdout and stderr out, and returns the
    /// program's exit code.
    static func run(_ supervisor: Supervisor, path: String, manifest: PluginManifest, policy: SandboxPolicy,
                    limits: ResourceLimits, wasi: WASIConfiguration) async throws -> Int32 {
        let handle = try await supervisor.load(manifest: manifest, path: path, policy: policy,
                                               host: InMemoryHost(echoLogs: true), limits: limits,
                                               restart: RestartPolicy(mode: .never), wasi: wasi)
        guard await handle.exports().contains(where: { $0.name == "_start" }) else {
            throw CLIFailure(ExitStatus.usage, "error: the module exports no _start; name an export with --export")
        }
        let output = try await handle.run(stdin: readStandardInput(limit: Int(limits.maxMessageBytes)))
        FileHandle.standardOutput.write(Data(output.stdout))
        FileHandle.standardError.write(Data(output.stderr))
        if output.truncated { Terminal.error("warning: output past the policy's wasi.maxOutputBytes was dropped") }
        return output.exitCode
    }

    /// The CLI's stdin, up to `limit` bytes (the call's input cap); nothing when it is a terminal,
    /// which would otherwise wait for an end of file nobody types.
    static func readStandardInput(limit: Int) throws -> [UInt8] {
        if isatty(0) != 0 { return [] }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, min($0.count, limit - out.count)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return out
    }
}
