// swift-tools-version: 6.3
// Cordon: a process-isolated sandbox supervisor for untrusted WebAssembly plugins.
// Layering (lower never imports higher):
//   CCordonShims, CSeccomp, CCap              C: syscalls libc lacks, fork→exec, SIGSYS handler
//   CordonChannel                             shared-memory rings + frame codec
//   CordonPolicy                              declarative policy (OCI seccomp JSON + Cordon sections)
//   CordonJail                                applies a policy to the calling process, in a fixed order
//   CordonAudit                               hash-chained audit log, verifier, sinks
//   CordonWorkerRuntime                       WasmKit inside the confined worker
//   Cordon                                    the supervisor library (public API)
//   cordon, cordon-worker, cordon-bench       executables
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Cordon",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Cordon", targets: ["Cordon"]),
        .executable(name: "cordon", targets: ["CordonCLI"]),
        .executable(name: "cordon-worker", targets: ["CordonWorker"]),
        .executable(name: "cordon-bench", targets: ["CordonBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // cordon serve: HTTP, signals and graceful shutdown, Prometheus text, SQLite state.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // cordon serve's TLS listener (through HummingbirdTLS); named here to build its TLSConfiguration.
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        // cordon serve handles requests on NIO's event loops (CordonServe/EventLoopExecutor.swift).
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        // cordon serve's call route is a handler in the HTTP pipeline (CordonServe/CallRequestHandler.swift).
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        // `swift package generate-documentation` (make docs): the Cordon module's DocC catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", exact: "1.5.0"),
    ],
    targets: [
        // MARK: C layer
        .target(name: "CCordonShims"),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),

        // MARK: Swift layers
        .target(name: "CordonChannel", dependencies: ["CCordonShims"], swiftSettings: strict),
        .target(name: "CordonPolicy", dependencies: ["CSeccomp"], swiftSettings: strict),
        .target(name: "CordonJail",
                dependencies: ["CordonPolicy", "CordonChannel", "CCordonShims", "CSeccomp", "CCap"], swiftSettings: strict),
        .target(name: "CordonAudit",
                dependencies: ["CCordonShims", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strict),
        .target(name: "CordonWorkerRuntime",
                dependencies: ["CordonChannel", "CordonPolicy", "CCordonShims", .product(name: "WasmKit", package: "WasmKit"),
                               .product(name: "WAT", package: "WasmKit")],
                swiftSettings: strict),
        .target(name: "Cordon",
                dependencies: [
                    "CordonChannel", "CordonPolicy", "CordonJail", "CordonAudit", "CCordonShims", "CSeccomp",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Crypto", package: "swift-crypto"),
                ],
                swiftSettings: strict),

        // The multi-tenant daemon behind `cordon serve`: one Supervisor per tenant, HTTP API, SQLite state.
        .target(name: "CordonServe",
                dependencies: [
                    "Cordon", "CordonAudit", "CordonPolicy",
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                    .product(name: "HummingbirdCore", package: "hummingbird"),
                    .product(name: "HummingbirdTLS", package: "hummingbird"),
                    .product(name: "NIOSSL", package: "swift-nio-ssl"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                    .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                    .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "GRDB", package: "GRDB.swift"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "Logging", package: "swift-log"),
                ],
                swiftSettings: strict),

        // MARK: Executables
        // A static PIE (Swift runtime, libc, libseccomp, libcap all linked in; ASLR kept): it starts
        // 2 ms faster than a dynamically linked worker (docs/performance.md, "Worker binary").
        // scripts/ld-static-pie links it with the toolchain's lld and drops SwiftPM's -rpath, which
        // glibc's static-PIE start-up rejects.
        .executableTarget(name: "CordonWorker",
                          dependencies: ["CordonJail", "CordonWorkerRuntime", "CordonChannel", "CordonPolicy"],
                          swiftSettings: strict,
                          linkerSettings: [.unsafeFlags(["-static-executable", "-Xclang-linker", "-static-pie",
                                                          "-Xclang-linker", "--ld-path=\(Context.packageDirectory)/scripts/ld-static-pie"])]),
        .executableTarget(name: "CordonCLI",
                          dependencies: [
                              "Cordon", "CordonAudit", "CordonPolicy", "CordonServe",
                              .product(name: "ArgumentParser", package: "swift-argument-parser"),
                              .product(name: "Logging", package: "swift-log"),
                              .product(name: "WAT", package: "WasmKit"),
                              .product(name: "WasmParser", package: "WasmKit"),
                          ],
                          swiftSettings: strict),
        // Modules of a chosen size for the module benchmark and the module-size tests (no dependencies).
        .target(name: "CordonGeneratedModules", swiftSettings: strict),
        .executableTarget(name: "CordonBench",
                          dependencies: [
                              "Cordon", "CordonChannel", "CordonAudit", "CordonPolicy", "CCordonShims", "CordonServe",
                              "CordonGeneratedModules",
                              .product(name: "Logging", package: "swift-log"),
                              .product(name: "WasmKit", package: "WasmKit"),
                              .product(name: "WAT", package: "WasmKit"),
                              .product(name: "WASI", package: "WasmKit"),
                              .product(name: "WasmKitWASI", package: "WasmKit"),
                          ],
                          swiftSettings: strict),
        // Test-only executables: a channel peer, and a probe that confines itself then tries to escape.
        .executableTarget(name: "CordonTestPeer", dependencies: ["CordonChannel", "CCordonShims"], swiftSettings: strict),
        .executableTarget(name: "CordonCorruptWorker", dependencies: ["CordonChannel", "CordonJail", "CordonPolicy", "CCordonShims"],
                          swiftSettings: strict),
        .executableTarget(name: "CordonEscapeProbe",
                          dependencies: ["CordonJail", "CordonPolicy", "CCordonShims"], swiftSettings: strict),

        // MARK: Tests
        .testTarget(name: "CordonChannelTests", dependencies: ["CordonChannel", "CCordonShims"], swiftSettings: strict),
        .testTarget(name: "CordonPolicyTests", dependencies: ["CordonPolicy", "CordonJail"], swiftSettings: strict),
        .testTarget(name: "CordonAuditTests", dependencies: ["CordonAudit"], swiftSettings: strict),
        .testTarget(name: "CordonWorkerTests",
                    dependencies: ["CordonWorkerRuntime", "CordonChannel", .product(name: "WAT", package: "WasmKit")],
                    swiftSettings: strict),
        .testTarget(name: "CordonTests",
                    dependencies: ["Cordon", "CordonAudit", "CordonGeneratedModules", .product(name: "WAT", package: "WasmKit"),
                                   .product(name: "WasmParser", package: "WasmKit"),
                                   .product(name: "MetricsTestKit", package: "swift-metrics"),
                                   .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strict),
    ]
)
