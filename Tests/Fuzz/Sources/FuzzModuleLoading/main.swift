// Entry point: SwiftPM names an executable's main `<Module>_main` (debug builds are testable), so the
// harness drives libFuzzer itself instead of relying on libFuzzer's own main().
import CFuzzerDriver
#if canImport(Glibc)
import Glibc
#endif

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) })
