#if canImport(Glibc)
import Glibc
#endif

/// Turns what one worker writes to its stderr pipe into lines for the supervisor's stderr. The
/// worker is hostile, so: every line (not every read) carries the `[cordon-worker <pid>]` prefix, a
/// line cannot forge another worker's prefix or move the terminal (control bytes are escaped as
/// `\xNN`), a line without an end is cut at `maxLine` bytes, and the worker gets a byte budget per
/// second: lines over it are dropped and counted, and the drop is said once per burst.
/// Reactor-confined, like the process it reads.
struct WorkerStderrLines {
    let prefix: [UInt8]
    private var pending: [UInt8] = []
    private var bucket: TokenBucket
    private(set) var dropped = 0
    private var dropAnnounced = false
    static let maxLine = 4096

    init(pid: Int32, bytesPerSecond: UInt32) {
        prefix = Array("[cordon-worker \(pid)] ".utf8)
        bucket = TokenBucket(perSecond: bytesPerSecond)
    }

    /// The output for `chunk`, complete lines only (a partial line waits for its end).
    mutating func feed(_ chunk: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                emit(&out)
            } else {
                pending.append(byte)
                if pending.count >= Self.maxLine { emit(&out) }
            }
        }
        return out
    }

    /// At end of file: the last partial line, and how much was dropped.
    mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !pending.isEmpty { emit(&out) }
        if dropped > 0 {
            out += prefix + Array("\(dropped) bytes of stderr dropped (over the budget)\n".utf8)
            dropped = 0
        }
        return out
    }

    private mutating func emit(_ out: inout [UInt8]) {
        let line = pending
        pending.removeAll(keepingCapacity: true)
        guard bucket.take(Double(line.count + 1)) else {
            dropped += line.count + 1
            if !dropAnnounced {
                dropAnnounced = true
                out += prefix + Array("stderr over its byte budget: lines dropped and counted\n".utf8)
            }
            return
        }
        dropAnnounced = false
        out += prefix
        for byte in line {
            if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\n"))
    }
}
