import CordonPolicy

/// A policy's worker uids: slot n runs as host uid `start + n` (root supervisor).
struct UidRange: Hashable, CustomStringConvertible {
    let start: UInt32
    let count: UInt32

    init(_ identity: IdentityPolicy) {
        start = identity.uidRangeStart
        count = identity.uidRangeCount
    }

    init(start: UInt32, count: UInt32) {
        self.start = start
        self.count = count
    }

    /// One past the last uid (fits: the parser keeps start + count − 1 ≤ 2³²−2).
    var end: UInt64 { UInt64(start) + UInt64(count) }

    func overlaps(_ other: UidRange) -> Bool { UInt64(start) < other.end && UInt64(other.start) < end }

    var description: String { "\(start)..<\(end)" }
}

/// Uid slots, allocated per uid range. Policies that name the same range share its slots (so no
/// two live workers share a uid); policies whose ranges overlap without being equal are refused,
/// because slot n of one and slot m of the other could be the same uid — two tenants' workers could
/// then signal, ptrace or read /proc of each other. A range, once used, stays claimed by the policy
/// that first used it for the supervisor's lifetime (a dying worker of it may still hold a uid).
struct UidSlots {
    private struct Pool {
        var owner: String
        var next: UInt32 = 0
        var free: [UInt32] = []
    }
    private var pools: [UidRange: Pool] = [:]

    /// Nil when `policy`'s range may be used here; otherwise why not, naming both policies.
    func conflict(for policy: SandboxPolicy) -> String? {
        let range = UidRange(policy.identity)
        if pools[range] != nil { return nil }
        guard let (other, pool) = pools.first(where: { $0.key.overlaps(range) }) else { return nil }
        return "uid range \(range) of policy '\(policy.name)' overlaps uid range \(other) of policy '\(pool.owner)'; "
            + "policies may share a uid range only when it is identical"
    }

    /// A free slot of `policy`'s range, or nil when the range is exhausted or conflicts (`conflict(for:)`).
    mutating func take(for policy: SandboxPolicy) -> UInt32? {
        guard conflict(for: policy) == nil else { return nil }
        let range = UidRange(policy.identity)
        var pool = pools[range] ?? Pool(owner: policy.name)
        defer { pools[range] = pool }
        if let slot = pool.free.popLast() { return slot }
        guard pool.next < range.count else { return nil }
        defer { pool.next += 1 }
        return pool.next
    }

    /// Returns `slot` of `range` (taken with `take`) for reuse.
    mutating func release(_ slot: UInt32, of range: UidRange) {
        pools[range]?.free.append(slot)
    }
}
