@_spi(Fuzzing) import WasmKit
import Synchronization

/// Caps memory.grow / table.grow so they return -1 past the policy's limit (WasmKit's limiter is SPI,
/// which is why WasmKit is pinned exactly). It remembers a denial so a following trap can be blamed
/// on the memory limit rather than reported as a bare `unreachable`.
final class GrowthLimiter: ResourceLimiter {
    let maxMemoryBytes: Int
    let maxTableElements: Int
    private let denied = Atomic<Bool>(false)

    init(maxMemoryPages: UInt32, maxTableElements: UInt32) {
        self.maxMemoryBytes = Int(maxMemoryPages) * 65536
        self.maxTableElements = Int(maxTableElements)
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        if desired <= maxMemoryBytes { return true }
        denied.store(true, ordering: .relaxed)
        return false
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        if desired <= maxTableElements { return true }
        denied.store(true, ordering: .relaxed)
        return false
    }

    /// Returns whether a growth was denied since the last reset, and resets.
    func takeDenial() -> Bool { denied.exchange(false, ordering: .relaxed) }
}
