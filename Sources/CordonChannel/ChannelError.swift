// Typed errors of the channel. Everything the peer can cause is a `ChannelError`, never a trap, so the
// supervisor can terminate a misbehaving worker and keep running.

/// Which shared counter a corruption report is about (named from the reader's point of view).
public enum ChannelCounter: Sendable, Hashable, CustomStringConvertible {
    /// The consumer position of the ring this side writes into (written by the peer).
    case peerHead
    /// The producer position of the ring this side reads from (written by the peer).
    case peerTail

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case .peerHead: "peer head (consumer position of the outgoing ring)"
        case .peerTail: "peer tail (producer position of the incoming ring)"
        }
    }
}

/// Which closed set of raw values a decoded byte failed to belong to.
public enum EncodedEnum: Sendable, Hashable, CustomStringConvertible {
    case wasmType, trapKind, loadStage, resultTag, optionalTag, outputStream, moduleFormat

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case .wasmType: "WasmType"
        case .trapKind: "TrapKind"
        case .loadStage: "LoadFailure.Stage"
        case .resultTag: "CallOutcome.Result tag"
        case .optionalTag: "optional tag"
        case .outputStream: "OutputStream"
        case .moduleFormat: "ModuleFormat"
        }
    }
}

/// Why received bytes (a ring counter, a record or a frame) were rejected.
public enum CorruptionReason: Sendable, Hashable, CustomStringConvertible {
    /// A peer-written counter is outside `[low, high]` (went backwards or claims more than the capacity).
    case counterOutOfRange(ChannelCounter, value: UInt64, low: UInt64, high: UInt64)
    /// A peer-written counter is not a multiple of the 8-byte record alignment.
    case counterMisaligned(ChannelCounter, value: UInt64)
    /// A record's length prefix exceeds the maximum message size.
    case recordLengthExceedsLimit(length: UInt32, limit: Int)
    /// A record (prefix + padded frame) claims more bytes than the peer has published.
    case recordExceedsAvailable(recordSize: UInt64, available: UInt64)
    /// The mapping header does not carry the Cordon magic number.
    case mappingMagic(UInt32)
    /// The mapping header carries a layout version this build does not speak.
    case mappingVersion(UInt32)
    /// The mapping's size or ring capacity is inconsistent with its header.
    case mappingGeometry(size: Int, capacity: UInt64, maxMessageSize: UInt64)
    /// The frame does not start with the magic byte 0xC0.
    case badMagic(UInt8)
    /// The frame's version byte is not one this build decodes.
    case unsupportedVersion(UInt8)
    /// The frame's kind byte names no message.
    case unknownKind(UInt8)
    /// The frame sets flag bits that are reserved (must be 0 in version 1).
    case reservedFlags(UInt8)
    /// The frame's header carries a call id for a message kind that has none.
    case unexpectedCallID(UInt32)
    /// The header's payload length is not the number of bytes that follow it.
    case payloadLengthMismatch(declared: UInt32, actual: Int)
    /// A field needs more bytes than remain in the payload.
    case truncated(needed: Int, remaining: Int)
    /// Bytes remain after the last field of the payload.
    case trailingBytes(count: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8
    /// A length-prefixed string is longer than its cap.
    case stringTooLong(length: UInt32, cap: Int)
    /// An element count is above the cap for its list.
    case countExceedsCap(count: UInt32, cap: Int)
    /// An element count cannot fit in the remaining bytes even at the minimum element size.
    case countExceedsRemaining(count: UInt32, minimumElementSize: Int, remaining: Int)
    /// A byte that encodes an enum has no matching case.
    case invalidEnumValue(EncodedEnum, value: UInt8)
    /// A byte string is longer than its cap.
    case bytesTooLong(length: UInt32, cap: Int)
    /// A fixed-size byte string (the WASI random seed) has another length.
    case bytesLengthMismatch(length: UInt32, required: Int)
    /// The WASI clock resolution is 0 (it must be at least 1 ns: readings are rounded down to it).
    case zeroClockResolution

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case let .counterOutOfRange(c, v, lo, hi): "\(c) = \(v) outside the valid range [\(lo), \(hi)]"
        case let .counterMisaligned(c, v): "\(c) = \(v) is not a multiple of 8"
        case let .recordLengthExceedsLimit(l, limit): "record length \(l) exceeds the maximum message size \(limit)"
        case let .recordExceedsAvailable(s, a): "record of \(s) bytes exceeds the \(a) bytes published"
        case let .mappingMagic(m): "mapping magic 0x\(String(m, radix: 16)) is not Cordon's"
        case let .mappingVersion(v): "mapping layout version \(v) is not supported"
        case let .mappingGeometry(size, cap, max):
            "mapping of \(size) bytes does not match ring capacity \(cap) / max message size \(max)"
        case let .badMagic(b): "frame magic 0x\(String(b, radix: 16)) is not 0xc0"
        case let .unsupportedVersion(v): "frame version \(v) is not supported (expected 1)"
        case let .unknownKind(k): "frame kind 0x\(String(k, radix: 16)) is unknown"
        case let .reservedFlags(f): "frame flags 0x\(String(f, radix: 16)) set reserved bits"
        case let .unexpectedCallID(id): "call id \(id) on a message kind that carries none"
        case let .payloadLengthMismatch(d, a): "payload length \(d) declared but \(a) bytes follow the header"
        case let .truncated(n, r): "field needs \(n) bytes but only \(r) remain"
        case let .trailingBytes(n): "\(n) trailing bytes after the last field"
        case .invalidUTF8: "string is not valid UTF-8"
        case let .stringTooLong(l, cap): "string of \(l) bytes exceeds the cap of \(cap)"
        case let .countExceedsCap(n, cap): "element count \(n) exceeds the cap of \(cap)"
        case let .countExceedsRemaining(n, size, r):
            "element count \(n) × at least \(size) bytes exceeds the \(r) bytes remaining"
        case let .invalidEnumValue(e, v): "value \(v) is not a valid \(e)"
        case let .bytesTooLong(l, cap): "byte string of \(l) bytes exceeds the cap of \(cap)"
        case let .bytesLengthMismatch(l, required): "byte string of \(l) bytes where exactly \(required) are required"
        case .zeroClockResolution: "WASI clock resolution 0 ns (must be at least 1)"
        }
    }
}

/// Why a `ChannelConfiguration` was refused.
public enum ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// Ring capacity must be a power of two (the ring indexes with a mask).
    case capacityNotPowerOfTwo(Int)
    /// Ring capacity is outside the supported range.
    case capacityOutOfRange(Int, minimum: Int, maximum: Int)
    /// The maximum message size must leave room for the record prefix inside one ring.
    case maxMessageSizeOutOfRange(Int, minimum: Int, maximum: Int)
    /// Spin iterations cannot be negative.
    case negativeSpinIterations(Int)

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case let .capacityNotPowerOfTwo(c): "ring capacity \(c) is not a power of two"
        case let .capacityOutOfRange(c, lo, hi): "ring capacity \(c) is outside [\(lo), \(hi)]"
        case let .maxMessageSizeOutOfRange(m, lo, hi): "max message size \(m) is outside [\(lo), \(hi)]"
        case let .negativeSpinIterations(n): "spin iterations \(n) is negative"
        }
    }
}

/// Every failure of the shared-memory channel.
public enum ChannelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The ring has no room for the message and the caller asked not to wait.
    case full
    /// The wait ended at its deadline with nothing to do.
    case timedOut
    /// The peer process exited (pidfd readable on the host, parent changed on the worker).
    case peerDied
    /// This side or the peer closed the channel and nothing is left to read.
    case closed
    /// The message does not fit the configured maximum; it is never truncated or split.
    case messageTooLarge(size: Int, limit: Int)
    /// The peer wrote something inconsistent: treat the peer as hostile and terminate it.
    case corrupt(CorruptionReason)
    /// The configuration was rejected before anything was created.
    case invalidConfiguration(ConfigurationProblem)
    /// A system call failed.
    case system(operation: String, errno: Int32)

    /// A human-readable explanation.
    public var description: String {
        switch self {
        case .full: "channel ring is full; retry later or send with a timeout"
        case .timedOut: "timed out waiting on the channel"
        case .peerDied: "the peer process died"
        case .closed: "the channel is closed"
        case let .messageTooLarge(size, limit):
            "message of \(size) bytes exceeds the channel limit of \(limit) bytes; raise maxMessageSize or send less"
        case let .corrupt(reason): "peer sent corrupt data: \(reason); terminate the peer"
        case let .invalidConfiguration(problem): "invalid channel configuration: \(problem)"
        case let .system(op, err): "\(op) failed: \(String(cString: strerror(err))) (errno \(err))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
