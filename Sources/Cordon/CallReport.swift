/// What one call cost, as the supervisor saw it: the fuel the worker reported spending (checked
/// against the call's budget, 0 when the plugin has no fuel limit or the call never reached a
/// worker) and the time from dispatch to a worker until its outcome (queueing not included).
struct CallCost: Sendable {
    var fuelUsed: UInt64
    var duration: Duration
}

/// A call's output with its cost, for callers that report per-call figures (`cordon serve`).
/// Unlike the difference of `PluginMetrics.fuelUsed` around a call, it is exact when calls overlap.
package struct CallReport<Output: Sendable>: Sendable {
    package var output: Output
    /// WasmKit fuel units: about one per WebAssembly instruction executed.
    package var fuelUsed: UInt64
    /// From dispatch to a worker to its outcome.
    package var duration: Duration
}
