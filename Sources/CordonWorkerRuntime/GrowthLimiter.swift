@_spi(Fuzzing) import WasmKit
import Synchronization

/// Caps memory.grow / table.grow so they return -1 past the policy's limit (WasmKit's limiter is SPI,
/// which is why WasmKit is pinned exactly). It remembers a denial so a following trap can be blamed
/// on the memory limit rather than reported as a bare `unreachable`.
final class GrowthLimiter: ResourceLimiter {
    let maxMemoryBytes: Int
    let maxTableElements: Int
    private let memoryDenied = Atomic<Bool>(false)
    private let tableDenied = Atomic<Bool>(false)

    init(maxMemoryPages: UInt32, maxTableElements: UInt32) {
        self.maxMemoryBytes = Int(maxMemoryPages) * 65536
        self.maxTableElements = Int(maxTableElements)
    }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        if desired <= maxMemoryBytes { return true }
        memoryDenied.store(true, ordering: .relaxed)
        return false
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        if desired <= maxTableElements { return true }
        tableDenied.store(true, ordering: .relaxed)
        return false
    }

    /// Which growth was denied since the last reset (memory first), and resets.
    func takeDenial() -> GrowthDenial? {
        let memory = memoryDenied.exchange(false, ordering: .relaxed)
        let table = tableDenied.exchange(false, ordering: .relaxed)
        return memory ? .memory : (table ? .table : nil)
    }
}

/// A growth the limiter refused.
enum GrowthDenial { case memory, table
}
