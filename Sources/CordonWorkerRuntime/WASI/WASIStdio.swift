// The guest's fds 0–2, kept in the worker. stdin is the call's `stdin` bytes; stdout and stderr are
// buffered per call so a printf loop costs no host call per line: a buffer goes out as an `output`
// frame when it reaches 64 KiB and before the call's outcome. Each stream forwards at most
// `maxOutputBytes` per call; the rest is counted, not sent, so a chatty plugin cannot flood the
// supervisor (the guest still sees its writes succeed, or libc would retry them forever).
import CordonChannel

/// One output stream's per-call buffer.
struct OutputBuffer {
    let stream: OutputStream
    /// Bytes this stream may still forward during the current call.
    private(set) var allowance: UInt64 = 0
    /// Bytes accepted but not yet sent.
    private(set) var pending: [UInt8] = []
    /// Bytes dropped over the allowance during the current call.
    private(set) var dropped: UInt64 = 0

    init(stream: OutputStream) {
        self.stream = stream
    }

    /// Starts a call with a fresh allowance.
    mutating func reset(allowance: UInt32) {
        self.allowance = UInt64(allowance)
        pending.removeAll(keepingCapacity: true)
        dropped = 0
    }

    /// Accepts what the allowance permits of `length` bytes the guest wrote, copying them with
    /// `copy(into:count:)`; the remainder is counted as dropped.
    mutating func append(length: Int, copy: (inout [UInt8], Int) -> Void) {
        let kept = Int(min(UInt64(length), allowance))
        if kept > 0 {
            copy(&pending, kept)
            allowance -= UInt64(kept)
        }
        dropped &+= UInt64(length - kept)
    }

    /// Whether a full output frame is waiting.
    var hasFullChunk: Bool { pending.count >= FrameLimits.maxOutputChunkBytes }

    /// Removes and returns pending bytes in frames of at most `maxOutputChunkBytes`; with `all` false,
    /// only full frames (the rest waits for more output or the end of the call).
    mutating func takeChunks(all: Bool) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var start = 0
        let size = FrameLimits.maxOutputChunkBytes
        while pending.count - start >= size || (all && start < pending.count) {
            let end = min(start + size, pending.count)
            chunks.append(Array(pending[start..<end]))
            start = end
        }
        pending.removeFirst(start)
        return chunks
    }
}

/// The call's stdin and a read position in it.
struct InputBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var position = 0

    mutating func reset(_ input: [UInt8]) {
        bytes = input
        position = 0
    }

    /// Bytes not yet read.
    var remaining: Int { bytes.count - position }

    /// Consumes up to `count` bytes.
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let end = position + min(count, remaining)
        defer { position = end }
        return bytes[position..<end]
    }
}
