import CordonChannel

/// What the supervisor has for one worker and the ring cannot take yet, in order. The reactor never
/// waits for ring space: a frame that does not fit stays here, and the worker, when it frees room
/// while the host announced that it sleeps, rings the doorbell, whose handler flushes again.
///
/// A module is queued whole and cut into `moduleChunk` frames only as the ring takes them, so a
/// 20 MB module costs one chunk of encoded copy at a time, not a second copy of the module.
struct Outbox {
    private enum Item {
        case frame([UInt8])
        case module(bytes: [UInt8], offset: Int, chunkBytes: Int)
    }

    private var items: [Item] = []
    /// The encoded head frame, kept when the ring refused it so a retry does not re-encode a chunk.
    private var encodedHead: [UInt8]?

    /// Whether everything queued has been handed to the ring.
    var isEmpty: Bool { items.isEmpty }

    /// Queues one encoded frame behind everything already queued.
    mutating func append(frame: [UInt8]) {
        items.append(.frame(frame))
    }

    /// Queues `bytes` as `moduleChunk` frames carrying at most `chunkBytes` bytes each (an empty
    /// module queues nothing: `bootstrap.moduleLength` 0 announces no chunk).
    mutating func append(module bytes: [UInt8], chunkBytes: Int) {
        guard !bytes.isEmpty else { return }
        items.append(.module(bytes: bytes, offset: 0, chunkBytes: max(1, chunkBytes)))
    }

    /// Drops everything queued (the worker is being killed or shut down).
    mutating func removeAll() {
        items.removeAll()
        encodedHead = nil
    }

    /// Hands frames to the ring until it is full or nothing is left; returns whether any frame was
    /// sent. `.full` is not an error here; any other channel error is (a corrupt head counter, a
    /// closed worker) and leaves the outbox as it was.
    @discardableResult
    mutating func flush(into channel: SharedMemoryBuffer) throws(ChannelError) -> Bool {
        var sent = false
        while let first = items.first {
            let frame: [UInt8]
            if let encodedHead {
                frame = encodedHead
            } else {
                switch first {
                case .frame(let bytes): frame = bytes
                case .module(let bytes, let offset, let chunkBytes):
                    frame = FrameCodec.encodeModuleChunk(bytes[offset..<min(bytes.count, offset + chunkBytes)])
                }
            }
            do {
                try channel.trySendRaw(frame)
            } catch .full {
                encodedHead = frame
                return sent
            }
            encodedHead = nil
            sent = true
            switch first {
            case .frame:
                items.removeFirst()
            case .module(let bytes, let offset, let chunkBytes):
                let next = min(bytes.count, offset + chunkBytes)
                if next >= bytes.count {
                    items.removeFirst()
                } else {
                    items[0] = .module(bytes: bytes, offset: next, chunkBytes: chunkBytes)
                }
            }
        }
        return sent
    }
}
