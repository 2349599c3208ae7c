// One direction of the channel: a single-producer/single-consumer byte ring in the shared mapping.
// Records are [u32 length LE][frame bytes] padded to 8 bytes; head and tail are monotonic u64 byte
// counters (never wrapped to the capacity), so `tail - head` is the number of bytes in flight.
//
// Hostile-peer discipline: each side keeps its OWN counter in private memory and only ever *writes* it to
// the mapping; the peer's counter is read once per operation with an acquire load and validated against
// private state before it is used. Lengths are read once and checked before any copy, and a record is
// copied into private memory before it is decoded. The capacity and mask are private constants.
import CCordonShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Record framing constants shared by producer and consumer.
enum RingRecord {
    /// The u32 length prefix.
    static let prefixSize = 4
    /// Records start on 8-byte boundaries, so the prefix never straddles the end of the ring.
    static let alignment: UInt64 = 8

    /// Bytes a frame of `length` occupies in the ring (prefix + frame, rounded up to 8).
    static func size(frameLength length: Int) -> UInt64 {
        (UInt64(length) + UInt64(prefixSize) + alignment - 1) & ~(alignment - 1)
    }
}

/// Copies `count` bytes between the ring and a linear buffer in at most two parts (a record may wrap).
private func ringSpans(start: UInt64, count: Int, capacity: Int) -> (first: Int, firstCount: Int, second: Int) {
    let offset = Int(start & UInt64(capacity - 1))
    let firstCount = min(count, capacity - offset)
    return (offset, firstCount, count - firstCount)
}

/// The producing end of a ring: writes records and publishes its tail.
/// Unchecked Sendable: it holds pointers into the mapping, and its owner keeps it behind a FutexLock.
struct RingProducer: @unchecked Sendable {
    private let data: UnsafeMutableRawPointer
    private let capacity: Int
    /// Our tail in the mapping: written, never read back.
    private let tailWord: UnsafeMutablePointer<UInt64>
    /// The peer's head in the mapping: read and validated, never trusted.
    private let headWord: UnsafeMutablePointer<UInt64>
    /// Private copy of our tail (the truth).
    private(set) var tail: UInt64 = 0
    /// Last valid head seen: the peer's head may never go below it.
    private var lastHead: UInt64 = 0

    /// Wraps the ring at `data`; `tailWord` is ours to write, `headWord` the peer's.
    init(data: UnsafeMutableRawPointer, capacity: Int, tailWord: UnsafeMutablePointer<UInt64>,
         headWord: UnsafeMutablePointer<UInt64>) {
        self.data = data
        self.capacity = capacity
        self.tailWord = tailWord
        self.headWord = headWord
    }

    /// Free bytes, after validating the peer's head: `lastHead ≤ head ≤ tail` and 8-aligned.
    mutating func freeSpace() throws(ChannelError) -> UInt64 {
        let head = cordon_load_acquire_u64(headWord)
        // Unsigned distances from lastHead: a head below lastHead wraps to a huge value and fails too.
        guard head &- lastHead <= tail &- lastHead else {
            throw .corrupt(.counterOutOfRange(.peerHead, value: head, low: lastHead, high: tail))
        }
        guard head & (RingRecord.alignment - 1) == 0 else {
            throw .corrupt(.counterMisaligned(.peerHead, value: head))
        }
        lastHead = head
        // Validated: 0 ≤ tail - head ≤ capacity (our tail never runs ahead of head + capacity).
        return UInt64(capacity) - (tail - head)
    }

    /// Whether a frame of `length` bytes fits now.
    ///
    /// The head last validated is a lower bound of the peer's head (heads only grow), so room under it
    /// is room now: the peer's head, a cache line the peer writes, is read (and validated) only when
    /// that room is too small. Reading it on every send cost a cross-core cache miss per message.
    mutating func fits(frameLength length: Int) throws(ChannelError) -> Bool {
        let size = RingRecord.size(frameLength: length)
        // Validated when lastHead was taken: 0 ≤ tail - lastHead ≤ capacity.
        if UInt64(capacity) - (tail &- lastHead) >= size { return true }
        return try freeSpace() >= size
    }

    /// Writes one record and publishes the new tail. The caller checked `fits` for this frame.
    mutating func write(_ frame: UnsafeRawBufferPointer) {
        let slot = Int(tail & UInt64(capacity - 1))
        // The prefix is 8-aligned and the capacity a multiple of 8: it never straddles the end.
        data.storeBytes(of: UInt32(truncatingIfNeeded: frame.count).littleEndian, toByteOffset: slot, as: UInt32.self)
        let spans = ringSpans(start: tail &+ UInt64(RingRecord.prefixSize), count: frame.count, capacity: capacity)
        if let base = frame.baseAddress {
            if spans.firstCount > 0 { memcpy(data + spans.first, base, spans.firstCount) }
            if spans.second > 0 { memcpy(data, base + spans.firstCount, spans.second) }
        }
        tail &+= RingRecord.size(frameLength: frame.count)
        cordon_store_release_u64(tailWord, tail)
    }
}

/// The consuming end of a ring: validates, copies out and releases records.
/// Unchecked Sendable: it holds pointers into the mapping, and its owner keeps it behind a FutexLock.
struct RingConsumer: @unchecked Sendable {
    private let data: UnsafeMutableRawPointer
    private let capacity: Int
    /// Our head in the mapping: written, never read back.
    private let headWord: UnsafeMutablePointer<UInt64>
    /// The peer's tail in the mapping: read and validated, never trusted.
    private let tailWord: UnsafeMutablePointer<UInt64>
    /// Private copy of our head (the truth).
    private(set) var head: UInt64 = 0
    /// Last valid tail seen: the peer's tail may never go below it.
    private var lastTail: UInt64 = 0

    /// Wraps the ring at `data`; `headWord` is ours to write, `tailWord` the peer's.
    init(data: UnsafeMutableRawPointer, capacity: Int, headWord: UnsafeMutablePointer<UInt64>,
         tailWord: UnsafeMutablePointer<UInt64>) {
        self.data = data
        self.capacity = capacity
        self.headWord = headWord
        self.tailWord = tailWord
    }

    /// Bytes published and not yet consumed, after validating the peer's tail:
    /// `lastTail ≤ tail ≤ head + capacity` and 8-aligned.
    mutating func available() throws(ChannelError) -> UInt64 {
        let tail = cordon_load_acquire_u64(tailWord)
        let high = head &+ UInt64(capacity)
        guard tail &- lastTail <= high &- lastTail else {
            throw .corrupt(.counterOutOfRange(.peerTail, value: tail, low: lastTail, high: high))
        }
        guard tail & (RingRecord.alignment - 1) == 0 else {
            throw .corrupt(.counterMisaligned(.peerTail, value: tail))
        }
        lastTail = tail
        return tail &- head
    }

    /// Copies the next record's frame into private memory and releases its space; nil when empty.
    /// `limit` is the maximum message size: a larger length is corruption, checked before allocating.
    mutating func read(limit: Int) throws(ChannelError) -> [UInt8]? {
        let available = try available()
        if available == 0 { return nil }
        let slot = Int(head & UInt64(capacity - 1))
        // One atomic load: the peer may rewrite the prefix at any time, we use this single value.
        let length = UInt32(littleEndian: cordon_load_acquire_u32(
            (data + slot).assumingMemoryBound(to: UInt32.self)))
        guard Int(length) <= limit else { throw .corrupt(.recordLengthExceedsLimit(length: length, limit: limit)) }
        let recordSize = RingRecord.size(frameLength: Int(length))
        guard recordSize <= available else {
            throw .corrupt(.recordExceedsAvailable(recordSize: recordSize, available: available))
        }
        let count = Int(length)
        let spans = ringSpans(start: head &+ UInt64(RingRecord.prefixSize), count: count, capacity: capacity)
        let data = self.data
        let frame = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                if spans.firstCount > 0 { memcpy(base, data + spans.first, spans.firstCount) }
                if spans.second > 0 { memcpy(base + spans.firstCount, data, spans.second) }
            }
            initialized = count
        }
        head &+= recordSize
        cordon_store_release_u64(headWord, head)
        return frame
    }
}
