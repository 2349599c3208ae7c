// Sizes and spin budget of one channel. Chosen by the supervisor; the worker learns them from the
// mapping header at attach time (the worker trusts the supervisor, never the other way round).

/// How big the two rings are, how large one message may be, and how long a waiter spins before sleeping.
public struct ChannelConfiguration: Sendable, Hashable {
    /// Smallest ring capacity accepted (one page).
    public static let minimumRingCapacity = 4096
    /// Largest ring capacity accepted (1 GiB per ring).
    public static let maximumRingCapacity = 1 << 30
    /// Smallest maximum message size accepted: one frame header.
    public static let minimumMessageSize = FrameLimits.headerSize

    /// Bytes per ring (each direction); a power of two so positions are masked, not divided.
    public var ringCapacity: Int
    /// Largest frame either side may send; larger messages fail with `.messageTooLarge`, never split.
    public var maxMessageSize: Int
    /// Most polls of the ring (each after a CPU pause, ~40–80 ns) before a waiter sleeps; the channel
    /// adapts below this when spinning keeps failing (see SharedMemoryBuffer).
    public var spinIterations: Int

    /// Creates a configuration; `maxMessageSize` defaults to half the ring so two messages fit.
    public init(ringCapacity: Int = 512 * 1024, maxMessageSize: Int? = nil, spinIterations: Int = 2000) {
        self.ringCapacity = ringCapacity
        self.maxMessageSize = maxMessageSize ?? ringCapacity / 2
        self.spinIterations = spinIterations
    }

    /// The largest `maxMessageSize` a ring of `capacity` bytes can carry (one record: 4-byte prefix + frame).
    public static func largestMessageSize(ringCapacity capacity: Int) -> Int {
        min(capacity - RingRecord.prefixSize, Int(UInt32.max))
    }

    /// Throws `.invalidConfiguration` unless every field is usable.
    public func validate() throws(ChannelError) {
        guard ringCapacity > 0, ringCapacity & (ringCapacity - 1) == 0 else {
            throw .invalidConfiguration(.capacityNotPowerOfTwo(ringCapacity))
        }
        guard ringCapacity >= Self.minimumRingCapacity, ringCapacity <= Self.maximumRingCapacity else {
            throw .invalidConfiguration(.capacityOutOfRange(ringCapacity, minimum: Self.minimumRingCapacity,
                                                            maximum: Self.maximumRingCapacity))
        }
        let largest = Self.largestMessageSize(ringCapacity: ringCapacity)
        guard maxMessageSize >= Self.minimumMessageSize, maxMessageSize <= largest else {
            throw .invalidConfiguration(.maxMessageSizeOutOfRange(maxMessageSize, minimum: Self.minimumMessageSize,
                                                                  maximum: largest))
        }
        guard spinIterations >= 0 else { throw .invalidConfiguration(.negativeSpinIterations(spinIterations)) }
    }
}
