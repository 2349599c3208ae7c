/// Entry point for `cordon-bench soak`; the soak itself lives in Soak.swift.
func runSoakCommand(arguments: [String]) async throws {
    try await runSoak(arguments: arguments)
}
