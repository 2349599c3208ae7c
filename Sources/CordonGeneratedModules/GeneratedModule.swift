// Shared by cordon-bench (`modules`) and the module-size tests: one generator, so the benchmark
// measures the modules the tests prove load.
/// Valid WebAssembly modules of a chosen size, made of many small functions (the shape of a real
/// compiled plugin, not one giant body or a data blob): function `i` computes `x + k₀ + k₁ + …` over
/// ten small constants, and the export `answer: () -> i32` returns 42 through function 0. Written as
/// binary directly: a 20 MB module would take the WAT parser longer than loading it.
public enum GeneratedModule {
    /// A module of at least `bytes` bytes (and at most about a hundred more).
    public static func make(bytes target: Int) -> [UInt8] {
        let filler: [UInt8] = {
            var body: [UInt8] = [0x00, 0x20, 0x00]          // no locals; local.get 0
            for k in 0..<10 { body += [0x41, UInt8(k * 5 + 1), 0x6A] }   // i32.const k; i32.add
            return body + [0x0B]
        }()
        // Function 0 is x + 1, so answer = f0(41) = 42.
        let first: [UInt8] = [0x00, 0x20, 0x00, 0x41, 0x01, 0x6A, 0x0B]
        let answer: [UInt8] = [0x00, 0x41, 41, 0x10] + leb(0) + [0x0B]   // i32.const 41; call 0
        let fixed = 48   // header, the type and export sections, section headers: an underestimate
        let perFunction = filler.count + 1 + 1   // body, its size byte, its type index
        let count = max(1, (target - fixed + perFunction - 1) / perFunction + 1)
        var out: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]
        out += section(1, leb(2) + [0x60, 0x01, 0x7F, 0x01, 0x7F] + [0x60, 0x00, 0x01, 0x7F])
        out += section(3, leb(count + 1) + [UInt8](repeating: 0, count: count) + [1])
        out += section(7, leb(1) + leb(6) + Array("answer".utf8) + [0x00] + leb(count))
        var code = leb(count + 1) + leb(first.count) + first
        code.reserveCapacity(count * perFunction + 64)
        for _ in 1..<count { code += leb(filler.count) + filler }
        code += leb(answer.count) + answer
        out += section(10, code)
        return out
    }

    private static func section(_ id: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [id] + leb(payload.count) + payload
    }

    private static func leb(_ value: Int) -> [UInt8] {
        var v = UInt64(value)
        var out: [UInt8] = []
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            out.append(byte)
        } while v != 0
        return out
    }
}
