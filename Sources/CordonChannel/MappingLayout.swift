// Byte offsets of the shared mapping (docs/protocol.md, "Mapping layout"). Each field a different
// process writes sits on its own 64-byte cache line so producer and consumer do not false-share.

/// Offsets and constants of the memfd mapping: a header page, then the host→worker ring, then the
/// worker→host ring.
enum MappingLayout {
    /// "CRDN" little-endian: identifies a Cordon mapping.
    static let magic: UInt32 = 0x4E44_5243
    /// Layout version of this build.
    static let version: UInt32 = 1
    /// Size of the header in front of the rings.
    static let headerSize = 4096

    // Written once by the host at creation, read by the worker at attach (the host never re-reads them).
    static let magicOffset = 0            // u32
    static let versionOffset = 4          // u32
    static let capacityOffset = 8         // u64
    static let maxMessageOffset = 16      // u64

    // Ring host→worker ("h2w"): the host produces, the worker consumes.
    static let h2wTailOffset = 64         // u64, written by host
    static let h2wHeadOffset = 128        // u64, written by worker
    // Ring worker→host ("w2h"): the worker produces, the host consumes.
    static let w2hTailOffset = 192        // u64, written by worker
    static let w2hHeadOffset = 256        // u64, written by host

    // Wake-up words.
    static let hostWaitingOffset = 320    // u32: host sets 1 before sleeping on the doorbell; worker swaps to 0
    static let workerWaitingOffset = 384  // u32: worker sets 1 before futex-sleeping, 0 after
    static let workerWakeOffset = 448     // u32: futex word; host increments it then FUTEX_WAKEs
    static let hostClosedOffset = 512     // u32: host sets 1 on close
    static let workerClosedOffset = 576   // u32: worker sets 1 on close

    /// Offset of the host→worker ring's data.
    static func h2wDataOffset(capacity: Int) -> Int { headerSize }
    /// Offset of the worker→host ring's data.
    static func w2hDataOffset(capacity: Int) -> Int { headerSize + capacity }
    /// Total mapping size for rings of `capacity` bytes.
    static func mappingSize(capacity: Int) -> Int { headerSize + 2 * capacity }
}
