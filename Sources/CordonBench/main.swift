// cordon-bench: timing goals live here, never in unit tests. Every figure is printed next to a
// baseline measured in the same run. Build with `swift build -c release` before measuring.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
usage: cordon-bench <channel|audit|supervisor|modules|wasi|soak|serve|all> [options]
  channel      SharedMemoryBuffer round trips vs a Unix socketpair (64 B, 4 KiB, 64 KiB)
  audit        audit records/s, group commit vs fsync per record
  supervisor   cold spawn vs bwrap, warm pool, compute vs in-process WasmKit, host calls, PSS per worker
               [--quick] [--workers N] [--only compute,hostcalls,cold,warm,idle,memory]
  modules      cold load → ready by module size (1 KB … 20 MB) vs in-process WasmKit; memory of 20 MB workers
               [--quick]
  wasi         WASI programs (64 MiB file read, 100,000 stdout lines) vs in-process WasmKitWASI
               [--quick] [--chunk BYTES]
  soak         200 plugins under faults [--plugins N] [--seconds S] [--seed N]
  serve        cordon serve vs the library on the same plugins: HTTP overhead at p50 (Unix socket, loopback TCP),
               calls/s with N clients, a tenant's latency beside a noisy one [--quick] [--clients N] [--seconds S]
               [--reactor-busy-poll-us N]
  all          channel, audit and supervisor in one run
"""

func main() async -> Int32 {
    guard let command = arguments.first else { print(usage); return 64 }
    let rest = Array(arguments.dropFirst())
    do {
        switch command {
        case "channel": try runChannelBenchmark(arguments: rest)
        case "audit": try runAuditBenchmark(arguments: rest)
        case "supervisor": try await runSupervisorBenchmark(arguments: rest)
        case "modules": try await runModuleBenchmark(arguments: rest)
        case "wasi": try await runWASIBenchmark(arguments: rest)
        case "soak": try await runSoakCommand(arguments: rest)
        case "serve": try await runServeBenchmark(arguments: rest)
        case "hold": try await runHold(arguments: rest)
        case "all":
            try runChannelBenchmark(arguments: rest)
            try runAuditBenchmark(arguments: rest)
            try await runSupervisorBenchmark(arguments: rest)
        default:
            print(usage)
            return 64
        }
    } catch {
        FileHandle.standardError.write(Data("cordon-bench \(command): \(error)\n".utf8))
        return 1
    }
    return 0
}

exit(await main())
