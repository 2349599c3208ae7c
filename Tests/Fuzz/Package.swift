// swift-tools-version: 6.3
// Cordon fuzz targets (libFuzzer). A SEPARATE package so the root Package.swift never carries
// sanitizer flags. Build and run through ./run.sh (one target) or ./ci.sh (all, bounded).
//
// Why the library modules are compiled from symlinks (Sources/<Module> -> ../../../Sources/<Module>)
// instead of `.package(path: "../..")`: the root package only vends the `Cordon` library product, and the
// code under test is not reachable through it (CordonChannel, CordonAudit are not products;
// `HostCallDecoder` is internal to Cordon). Compiling the same sources here, in debug (testable) mode,
// lets the harnesses call exactly the supervisor-side code, with coverage instrumentation on all of it.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]
// Each harness exports @_cdecl("LLVMFuzzerTestOneInput") and its main.swift calls LLVMFuzzerRunDriver.
// The sanitizers come from the command line (run.sh: -sanitize=fuzzer,address), never from here.
let harness: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "CordonFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // The code under test (symlinks into the root package's Sources/).
        .target(name: "CCordonShims"),
        .target(name: "CFuzzerDriver"),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp"),
        .systemLibrary(name: "CCap", pkgConfig: "libcap"),
        .target(name: "CordonChannel", dependencies: ["CCordonShims"], swiftSettings: strict),
        .target(name: "CordonPolicy", dependencies: ["CSeccomp"], swiftSettings: strict),
        .target(name: "CordonJail",
                dependencies: ["CordonPolicy", "CordonChannel", "CCordonShims", "CSeccomp", "CCap"], swiftSettings: strict),
        .target(name: "CordonAudit",
                dependencies: ["CCordonShims", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .target(name: "Cordon",
                dependencies: [
                    "CordonChannel", "CordonPolicy", "CordonJail", "CordonAudit", "CCordonShims", "CSeccomp",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Crypto", package: "swift-crypto"),
                ],
                swiftSettings: strict),

        // One executable per fuzz target.
        .executableTarget(name: "FuzzFrameDecoder", dependencies: ["CFuzzerDriver", "CordonChannel"], swiftSettings: harness),
        .executableTarget(name: "FuzzHostCallDecoding", dependencies: ["CFuzzerDriver", "Cordon", "CordonChannel"], swiftSettings: harness),
        .executableTarget(name: "FuzzPolicyParser", dependencies: ["CFuzzerDriver", "Cordon", "CordonJail", "CordonPolicy"], swiftSettings: harness),
        .executableTarget(name: "FuzzAuditVerifier", dependencies: ["CFuzzerDriver", "CordonAudit"], swiftSettings: harness),
        .executableTarget(name: "FuzzModuleLoading", dependencies: ["CFuzzerDriver", "Cordon", "CordonAudit"], swiftSettings: harness),
    ]
)
