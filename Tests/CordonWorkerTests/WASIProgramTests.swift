// Real wasi-libc C programs, compiled with the toolchain's clang, run in the worker runtime with an
// in-process broker that serves one preopened directory from a dictionary.
import CordonChannel
@testable import CordonWorkerRuntime
import Testing

@Suite(.enabled(if: WASIToolchain.available, "clang --target=wasm32-wasi or wasi-libc (/usr/lib/wasm32-wasi) is not installed"))
struct WASIProgramTests {
    static let program = """
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <time.h>
    static int counter;
    int main(int argc, char **argv) {
        counter++;
        for (int i = 0; i < argc; i++) printf("arg%d=%s\\n", i, argv[i]);
        const char *greeting = getenv("GREETING");
        printf("env=%s\\n", greeting ? greeting : "(none)");
        char buffer[256];
        size_t n = fread(buffer, 1, sizeof buffer - 1, stdin);
        buffer[n] = 0;
        printf("stdin=%s|\\n", buffer);
        fprintf(stderr, "counter=%d\\n", counter);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        printf("ms-aligned=%d\\n", ts.tv_nsec % 1000000 == 0);
        FILE *f = fopen("/data/hello.txt", "r");
        if (f) {
            char line[64] = {0};
            fgets(line, sizeof line, f);
            printf("file=%s|\\n", line);
            fclose(f);
        } else {
            printf("fopen failed\\n");
        }
        return argc > 1 ? atoi(argv[1]) : 0;
    }
    """

    /// A broker for one preopen "/data" (fd 3) holding hello.txt, opened as fd 4.
    static func fileBroker() -> Broker {
        let broker = Broker()
        let content = Array("hi from the broker\n".utf8)
        var offset = 0
        broker.answer = { request in
            let fd = request.integers.first ?? -1
            switch request.function {
            case "wasi.fd_prestat_get":
                return fd == 3 ? (0, [0, 0, 0, 0, 5, 0, 0, 0]) : (8, [])
            case "wasi.fd_prestat_dir_name":
                return fd == 3 ? (0, Array("/data".utf8)) : (8, [])
            case "wasi.path_open":
                guard fd == 3, request.blobs.first == Array("hello.txt".utf8) else { return (44, []) }
                offset = 0
                return (0, [4, 0, 0, 0, 0])
            case "wasi.fd_fdstat_get":
                var stat = [UInt8](repeating: 0, count: 24)
                stat[0] = fd == 3 ? 3 : 4
                for i in 8..<24 { stat[i] = 0xFF }
                return fd == 3 || fd == 4 ? (0, stat) : (8, [])
            case "wasi.fd_read":
                guard fd == 4 else { return (8, []) }
                let count = min(Int(request.integers[1]), content.count - offset)
                defer { offset += count }
                return (0, Array(content[offset..<(offset + count)]))
            case "wasi.fd_close":
                return fd == 4 ? (0, []) : (8, [])
            default:
                return (52, [])
            }
        }
        return broker
    }

    @Test func aCProgramSeesItsArgsEnvStdinClockAndFiles() throws {
        let wasm = try WASIToolchain.compile(Self.program)
        let broker = Self.fileBroker()
        let wasi = WASIBootstrap(arguments: ["prog", "0", "two words"], environment: ["GREETING=hello"], preopens: ["/data"],
                                 clockResolutionNanoseconds: 1_000_000)
        let runtime = try WASIModules.load(wasm: wasm, wasi: wasi, transport: broker)
        #expect(runtime.report.exports.contains { $0.name == "_start" && $0.parameters.isEmpty && $0.results.isEmpty })
        let outcome = runtime.run("_start", stdin: Array("piped input".utf8))
        #expect(outcome.result == .values([]))
        #expect(broker.text(.stdout) == """
            arg0=prog
            arg1=0
            arg2=two words
            env=hello
            stdin=piped input|
            ms-aligned=1
            file=hi from the broker
            |

            """)
        #expect(broker.text(.stderr) == "counter=1\n")
        // Every output frame came after the host calls it followed, and all before the call ended.
        #expect(broker.outputs.allSatisfy { $0.id == 7 })
    }

    @Test func exitCodesAndAFreshInstancePerRun() throws {
        let wasm = try WASIToolchain.compile(Self.program)
        let broker = Self.fileBroker()
        let runtime = try WASIModules.load(wasm: wasm, wasi: WASIBootstrap(arguments: ["prog", "3"], preopens: ["/data"]), transport: broker)
        #expect(runtime.run("_start").result == .exited(3))
        #expect(runtime.run("_start").result == .exited(3))
        // A static counter starts at zero in each run: the command got a fresh instance.
        #expect(broker.text(.stderr) == "counter=1\ncounter=1\n")
    }

    @Test func wasiLibcStartupProbesPreopensUntilEBADF() throws {
        // wasi-libc finds its preopens on the first path call.
        let wasm = try WASIToolchain.compile("#include <stdio.h>\nint main(void) { return fopen(\"/data/missing\", \"r\") ? 1 : 0; }")
        let broker = Self.fileBroker()
        let runtime = try WASIModules.load(wasm: wasm, wasi: WASIBootstrap(preopens: ["/data"]), transport: broker)
        #expect(runtime.run("_start").result == .values([]))
        // Only fd 3 is asked about: the worker answers fd 4 with EBADF itself.
        #expect(broker.requests.filter { $0.function == "wasi.fd_prestat_get" }.map(\.integers) == [[3]])
        #expect(broker.requests.contains { $0.function == "wasi.path_open" && $0.blobs == [Array("missing".utf8)] })
    }

    @Test func aLargePrintfLoopIsCappedAndCounted() throws {
        let wasm = try WASIToolchain.compile("""
        #include <stdio.h>
        int main(void) { for (int i = 0; i < 20000; i++) printf("line %05d\\n", i); return 0; }
        """)
        let broker = Broker()
        let runtime = try WASIModules.load(wasm: wasm, wasi: WASIBootstrap(maxOutputBytes: 100_000), transport: broker)
        let outcome = runtime.run("_start")
        #expect(outcome.result == .values([]))
        #expect(broker.outputs.reduce(0) { $0 + $1.data.count } == 100_000)
        #expect(outcome.droppedOutput == 20_000 * 11 - 100_000)
        #expect(broker.outputs.allSatisfy { $0.data.count <= FrameLimits.maxOutputChunkBytes })
        #expect(broker.requests.isEmpty)
    }
}
