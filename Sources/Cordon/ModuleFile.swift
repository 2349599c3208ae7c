import CordonChannel
import CordonPolicy
import Glibc

/// A module read from a file for `Supervisor.load(manifest:path:…)`: its bytes, and whether they are
/// a binary module or WebAssembly text (`format(of:path:)`). Only the first four bytes are looked at
/// here. The text is parsed by the confined worker, never in the supervisor: the WAT parser is as
/// exposed to hostile input as the binary parser, and the supervisor needs nothing from the module
/// before loading that the worker does not report (exports come in its `loaded` reply; the cache and
/// the audit record key the text by its own digest). So the supervisor never handles a binary it did
/// not receive.
package struct ModuleFile {
    var bytes: [UInt8]
    var format: ModuleFormat

    /// The first four bytes of every binary module.
    static let binaryMagic: [UInt8] = [0x00, 0x61, 0x73, 0x6D]

    /// Reads the file, bounded by the policy's `wasm.maxModuleBytes`: a regular file over it is
    /// refused by its size before a byte is read, anything else after `maxModuleBytes + 1` bytes.
    static func read(path: String, policy: SandboxPolicy) throws(CordonError) -> ModuleFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let error = errno
            throw error == ENOENT ? .fileNotFound(path: path) : .unreadableFile(path: path, errno: error)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .unreadableFile(path: path, errno: errno) }
        let kind = status.st_mode & S_IFMT
        guard kind != S_IFDIR else { throw .unreadableFile(path: path, errno: EISDIR) }
        if kind == S_IFREG, let refusal = SupervisorCore.moduleSizeRefusal(Int(status.st_size), policy: policy) {
            throw refusal
        }
        let limit = Int(clamping: policy.wasm.maxModuleBytes)
        var bytes: [UInt8] = []
        if kind == S_IFREG { bytes.reserveCapacity(Int(status.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        if let refusal = SupervisorCore.moduleSizeRefusal(bytes.count, policy: policy) { throw refusal }
        return ModuleFile(bytes: bytes, format: try format(of: bytes, path: path))
    }

    /// Whether a module file's `bytes` are a binary module or WebAssembly text: the one rule for
    /// `Supervisor.load(manifest:path:…)` and the CLI, so the two never disagree about a file.
    ///
    /// A file that starts with `\0asm` is a binary, whatever its name. A name ending in `.wasm`
    /// promises a binary, and four bytes prove such a file is none: it is refused here, naming the
    /// missing magic, as the binary parser would refuse it later, without a worker spawned to say so.
    /// Anything else is text, judged where text is assembled (the confined worker, never this
    /// process): telling text from garbage takes a parser, and the supervisor parses no untrusted
    /// module. An empty file is neither: as text it would assemble to a module with nothing in it,
    /// which no caller meant.
    ///
    /// - Throws: `.invalidModule(stage: "parse", …)` naming `path`, for an empty file or a `.wasm`
    ///   file without the magic — the stage the worker's binary parser would report.
    package static func format(of bytes: [UInt8], path: String) throws(CordonError) -> ModuleFormat {
        guard !bytes.isEmpty else {
            throw .invalidModule(stage: "parse", message: "\(path) is empty: neither a WebAssembly binary nor WebAssembly text")
        }
        if bytes.starts(with: binaryMagic) { return .binary }
        if path.hasSuffix(".wasm") {
            throw .invalidModule(stage: "parse", message: "\(path) is not a WebAssembly binary (no \\0asm magic); use .wat for text")
        }
        return .text
    }
}
