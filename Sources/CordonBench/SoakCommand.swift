/// Entry point for `cordon-bench soak`; the soak itself lives in Soak.swift.
func runSoakCommand(arguments: [String]) async throws {
    print("soak: not built yet")
}
