import CordonChannel
import Crypto
import Foundation

/// Content-addressed module cache: SHA-256 of the bytes → the module and what loading it produced,
/// least-recently-used out first within a byte budget. Keyed by the full digest (no truncated-hash
/// collisions) and evicting by recency (never an arbitrary entry).
struct ModuleCache {
    struct Entry {
        var bytes: [UInt8]
        var outcome: Outcome
        var lastUse: UInt64
    }
    /// What a confined worker said about this module.
    enum Outcome { case loaded([ExportedFunction]), rejected(stage: String, message: String) }

    let budget: Int
    private(set) var entries: [String: Entry] = [:]
    private(set) var bytesUsed = 0
    private var clock: UInt64 = 0
    private(set) var hits: UInt64 = 0
    private(set) var misses: UInt64 = 0
    private(set) var evictions: UInt64 = 0

    init(budget: Int) { self.budget = budget }

    /// Lower-case hex SHA-256. Hand-rolled hex: `String(format:)` cost 120 µs of every warm load.
    static func digest(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The key of a module: its digest, prefixed for text, which is a different module from the same
    /// bytes taken as a binary.
    static func key(digest: String, format: ModuleFormat) -> String {
        switch format {
        case .binary: digest
        case .text: "wat:" + digest
        }
    }

    mutating func lookup(_ digest: String) -> Entry? {
        guard var entry = entries[digest] else {
            misses += 1
            return nil
        }
        hits += 1
        clock += 1
        entry.lastUse = clock
        entries[digest] = entry
        return entry
    }

    mutating func store(_ digest: String, bytes: [UInt8], outcome: Outcome) {
        guard bytes.count <= budget else { return }
        if let old = entries[digest] { bytesUsed -= old.bytes.count }
        clock += 1
        entries[digest] = Entry(bytes: bytes, outcome: outcome, lastUse: clock)
        bytesUsed += bytes.count
        while bytesUsed > budget, let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            bytesUsed -= victim.value.bytes.count
            entries[victim.key] = nil
            evictions += 1
        }
    }

    /// Forgets every entry (rejections included); the counters are cumulative and stay.
    mutating func clear() {
        entries = [:]
        bytesUsed = 0
    }

    var stats: ModuleCacheStats {
        ModuleCacheStats(entries: entries.count, bytes: bytesUsed, budget: budget, hits: hits, misses: misses, evictions: evictions)
    }
}
