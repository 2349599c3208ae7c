/// Thrown by `proc_exit` through WasmKit to unwind the guest; `PluginRuntime.call` catches it and
/// reports `CallOutcome.Result.exited(code)`. It is not a trap: exiting is how a WASI command ends.
struct ProcExit: Error, CustomStringConvertible {
    var code: Int32
    var description: String { "proc_exit(\(code))" }
}
