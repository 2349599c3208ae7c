// Property tests of the frame codec: randomized round trips of every kind, every truncation and every
// single-byte corruption (rejected with a typed error or decoded without crashing), and targeted
// rejections of the hostile cases the protocol names.
import Testing
@testable import CordonChannel

@Suite struct FrameCodecTests {
    @Test func roundTripsEveryKindRandomized() throws {
        var rng = SplitMix64(seed: 0xC0DEC)
        for kind in FrameKind.allCases {
            for _ in 0..<300 {
                let message = RandomMessages.message(kind: kind, &rng)
                let frame = FrameCodec.encode(message)
                #expect(frame[0] == 0xC0 && frame[1] == 1 && frame[2] == kind.rawValue)
                #expect(try FrameCodec.decode(frame) == message)
            }
        }
    }

    @Test func headerFieldsAreLittleEndian() throws {
        let frame = FrameCodec.encode(.hostReply(HostCallReply(id: 0x0102_0304, status: -1, data: [9])))
        #expect(Array(frame[0..<12]) == [0xC0, 1, 0x13, 0, 4, 3, 2, 1, 13, 0, 0, 0])
        #expect(frame.count == 12 + 13)
    }

    /// The bootstrap announces the module's length (u64 after the six limits); the bytes travel in
    /// `moduleChunk` frames, which `encodeModuleChunk` builds from a slice without changing a byte.
    @Test func bootstrapCarriesTheModuleLengthAndChunksCarryTheBytes() throws {
        let limits = WasmLimits(maxMemoryPages: 1, maxTableElements: 2, maxFuelPerCall: 3, maxReentryDepth: 4,
                                maxHostCallBytes: 5, maxCallDepth: 6)
        let bootstrap = FrameCodec.encode(.bootstrap(Bootstrap(moduleLength: 20_000_000, limits: limits, customFunctions: [])))
        #expect(Array(bootstrap[12 + 28..<12 + 36]) == [0x00, 0x2D, 0x31, 0x01, 0, 0, 0, 0])
        // header, six limits, the length, no custom functions, idle release, then the default WASI
        // world: three empty lists, the resolution, a 32-byte seed, the output cap; then the module format.
        #expect(bootstrap.count == 12 + 28 + 8 + 4 + 4 + (4 + 4 + 4 + 8 + 4 + 32 + 4) + 1)
        #expect(bootstrap.last == ModuleFormat.binary.rawValue)
        let module = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let direct = FrameCodec.encodeModuleChunk(module[100..<600])
        #expect(direct == FrameCodec.encode(.moduleChunk(Array(module[100..<600]))))
        #expect(Array(direct[0..<12]) == [0xC0, 1, 0x15, 0, 0, 0, 0, 0, 0xF8, 1, 0, 0])
        #expect(try FrameCodec.decode(direct) == .moduleChunk(Array(module[100..<600])))
        // A chunk claiming more bytes than the frame holds is truncated, never over-read.
        var lying = direct
        lying[12] = 0xFF
        #expect(throws: ChannelError.self) { try FrameCodec.decode(lying) }
    }

    @Test func everyTruncationIsRejected() {
        var rng = SplitMix64(seed: 7)
        for kind in FrameKind.allCases {
            for _ in 0..<10 {
                let frame = FrameCodec.encode(RandomMessages.message(kind: kind, &rng))
                for length in 0..<frame.count {
                    #expect(throws: ChannelError.self) { try FrameCodec.decode(frame[0..<length]) }
                }
            }
        }
    }

    @Test func everySingleByteCorruptionIsRejectedOrDecodes() {
        var rng = SplitMix64(seed: 11)
        var rejected = 0, decoded = 0
        for kind in FrameKind.allCases {
            for _ in 0..<8 {
                let frame = FrameCodec.encode(RandomMessages.message(kind: kind, &rng))
                for position in 0..<frame.count {
                    // Three values per position: a flip of every bit, 0xFF and a random byte.
                    for replacement in [~frame[position], 0xFF, UInt8(truncatingIfNeeded: rng.next())]
                    where replacement != frame[position] {
                        var corrupted = frame
                        corrupted[position] = replacement
                        do {
                            let message = try FrameCodec.decode(corrupted)
                            // Whatever decodes must be a message that re-encodes to exactly these bytes.
                            #expect(FrameCodec.encode(message) == corrupted)
                            decoded += 1
                        } catch {
                            rejected += 1
                        }
                    }
                }
            }
        }
        #expect(rejected > 0 && decoded > 0)
    }

    @Test func rejectsHeaderProblems() {
        let good = FrameCodec.encode(.heartbeat(42))
        func corrupt(_ i: Int, _ v: UInt8) -> [UInt8] { var f = good; f[i] = v; return f }
        #expect(throws: ChannelError.corrupt(.badMagic(0xC1))) { try FrameCodec.decode(corrupt(0, 0xC1)) }
        #expect(throws: ChannelError.corrupt(.unsupportedVersion(2))) { try FrameCodec.decode(corrupt(1, 2)) }
        #expect(throws: ChannelError.corrupt(.unknownKind(0x99))) { try FrameCodec.decode(corrupt(2, 0x99)) }
        #expect(throws: ChannelError.corrupt(.reservedFlags(1))) { try FrameCodec.decode(corrupt(3, 1)) }
        #expect(throws: ChannelError.corrupt(.unexpectedCallID(5))) { try FrameCodec.decode(corrupt(4, 5)) }
        #expect(throws: ChannelError.corrupt(.payloadLengthMismatch(declared: 9, actual: 8))) {
            try FrameCodec.decode(corrupt(8, 9))
        }
        #expect(throws: ChannelError.corrupt(.trailingBytes(count: 1))) {
            var f = good
            f[8] = 9
            f.append(0)
            _ = try FrameCodec.decode(f)
        }
        #expect(throws: ChannelError.corrupt(.truncated(needed: 1, remaining: 0))) { try FrameCodec.decode([UInt8]()) }
    }

    /// Builds a frame around a hand-written payload.
    private func frame(kind: FrameKind, callID: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0xC0, 1, kind.rawValue, 0]
        withUnsafeBytes(of: callID.littleEndian) { f += $0 }
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { f += $0 }
        return f + payload
    }

    private func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test func rejectsHugeCountsBeforeAllocating() {
        // A host call claiming 2^32-1 blobs in a 16-byte payload: rejected by the cap, nothing allocated.
        let hugeBlobs = frame(kind: .hostCall, callID: 1, payload: le32(0) + le32(0) + le32(.max))
        #expect(throws: ChannelError.corrupt(.countExceedsCap(count: .max, cap: FrameLimits.maxHostCallBlobs))) {
            try FrameCodec.decode(hugeBlobs)
        }
        // Under the cap but more than the remaining bytes can hold at 4 bytes per blob.
        let tooMany = frame(kind: .hostCall, callID: 1, payload: le32(0) + le32(0) + le32(60) + [0, 0, 0, 0])
        #expect(throws: ChannelError.corrupt(.countExceedsRemaining(count: 60, minimumElementSize: 4, remaining: 4))) {
            try FrameCodec.decode(tooMany)
        }
        // A byte string claiming 4 GiB.
        let hugeBlob = frame(kind: .hostReply, callID: 1, payload: [UInt8](repeating: 0, count: 8) + le32(.max))
        #expect(throws: ChannelError.corrupt(.truncated(needed: Int(UInt32.max), remaining: 0))) {
            try FrameCodec.decode(hugeBlob)
        }
    }

    @Test func rejectsInvalidUTF8AndLongStrings() {
        let badUTF8 = frame(kind: .log, payload: [3] + le32(2) + [0xC3, 0x28])
        #expect(throws: ChannelError.corrupt(.invalidUTF8)) { try FrameCodec.decode(badUTF8) }
        // ASCII takes a shorter path than other text; both arrive exactly as sent, and a stray byte
        // after ASCII is still refused, not repaired.
        for text in ["fib", "a\u{0}b", "é ok", "日本"] {
            let bytes = Array(text.utf8)
            guard case .log(let log)? = try? FrameCodec.decode(frame(kind: .log, payload: [3] + le32(UInt32(bytes.count)) + bytes)) else {
                Issue.record("'\(text)' did not decode"); continue
            }
            #expect(Array(log.message.utf8) == bytes)
        }
        #expect(throws: ChannelError.corrupt(.invalidUTF8)) {
            try FrameCodec.decode(frame(kind: .log, payload: [3] + le32(4) + Array("abc".utf8) + [0xFF]))
        }
        let longName = frame(kind: .hostCall, callID: 1, payload: le32(UInt32(FrameLimits.maxNameBytes + 1)))
        #expect(throws: ChannelError.corrupt(.stringTooLong(length: UInt32(FrameLimits.maxNameBytes + 1),
                                                            cap: FrameLimits.maxNameBytes))) {
            try FrameCodec.decode(longName)
        }
    }

    @Test func rejectsInvalidEnumValues() {
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.loadStage, value: 0))) {
            try FrameCodec.decode(frame(kind: .loadFailed, payload: [0] + le32(0)))
        }
        // fuelUsed u64, memoryPages u32, droppedOutput u64, then the tag.
        let outcomeHead = [UInt8](repeating: 0, count: 8) + le32(0) + [UInt8](repeating: 0, count: 8)
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.resultTag, value: 4))) {
            try FrameCodec.decode(frame(kind: .callOutcome, callID: 1, payload: outcomeHead + [4]))
        }
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.wasmType, value: 0x7B))) {
            try FrameCodec.decode(frame(kind: .callOutcome, callID: 1,
                                        payload: outcomeHead + [0] + le32(1) + [0x7B, 0, 0, 0, 0]))
        }
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.optionalTag, value: 2))) {
            try FrameCodec.decode(frame(kind: .call, callID: 1,
                                        payload: [UInt8](repeating: 0, count: 8) + le32(0) + le32(0) + [2]))
        }
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.outputStream, value: 0))) {
            try FrameCodec.decode(frame(kind: .output, callID: 1, payload: [0] + le32(0)))
        }
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.outputStream, value: 3))) {
            try FrameCodec.decode(frame(kind: .output, callID: 1, payload: [3] + le32(0)))
        }
    }

    // MARK: - WASI additions

    private func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    private func str(_ s: String) -> [UInt8] { le32(UInt32(s.utf8.count)) + Array(s.utf8) }

    /// A bootstrap payload up to and including idleReleaseMilliseconds (module length 0, no custom functions).
    private var bootstrapHead: [UInt8] {
        le32(1) + le32(1) + le64(0) + le32(1) + le32(1024) + le32(100) + le64(0) + le32(0) + le32(0)
    }

    @Test func wasiFieldsRoundTripAtTheDocumentedOffsets() throws {
        let wasi = WASIBootstrap(arguments: ["prog", "-v"], environment: ["A=1"], preopens: ["/data"],
                                 clockResolutionNanoseconds: 1_000_000, randomSeed: Array(0..<32), maxOutputBytes: 4096)
        let bootstrap = Bootstrap(moduleLength: 0, limits: WasmLimits(maxMemoryPages: 1, maxTableElements: 1, maxFuelPerCall: 0,
                                                                 maxReentryDepth: 1, maxHostCallBytes: 1024, maxCallDepth: 100),
                                  customFunctions: [], wasi: wasi)
        let encoded = FrameCodec.encode(.bootstrap(bootstrap))
        let expected = bootstrapHead + le32(2) + str("prog") + str("-v") + le32(1) + str("A=1") + le32(1) + str("/data")
            + le64(1_000_000) + le32(32) + Array(0..<32) + le32(4096) + [ModuleFormat.binary.rawValue]
        #expect(Array(encoded[12...]) == expected)
        #expect(try FrameCodec.decode(encoded) == .bootstrap(bootstrap))
        // The default WASI world: nothing, 1 µs resolution, 1 MiB per stream.
        #expect(Bootstrap(moduleLength: 0, limits: bootstrap.limits, customFunctions: []).wasi
                == WASIBootstrap(arguments: [], environment: [], preopens: [], clockResolutionNanoseconds: 1_000,
                                 randomSeed: [UInt8](repeating: 0, count: 32), maxOutputBytes: 1 << 20))

        let call = CallRequest(id: 9, export: "_start", arguments: [], fuel: 5, stdin: [1, 2, 3])
        let callFrame = FrameCodec.encode(.call(call))
        #expect(Array(callFrame[(callFrame.count - 7)...]) == le32(3) + [1, 2, 3])
        #expect(try FrameCodec.decode(callFrame) == .call(call))

        let exited = CallOutcome(id: 4, result: .exited(-3), fuelUsed: 7, memoryPages: 2, droppedOutput: 0x0102)
        let outcomeFrame = FrameCodec.encode(.callOutcome(exited))
        #expect(Array(outcomeFrame[12...]) == le64(7) + le32(2) + le64(0x0102) + [3] + le32(UInt32(bitPattern: -3)))
        #expect(try FrameCodec.decode(outcomeFrame) == .callOutcome(exited))

        let chunk = OutputChunk(id: 4, stream: .stderr, data: [UInt8](repeating: 7, count: FrameLimits.maxOutputChunkBytes))
        let chunkFrame = FrameCodec.encode(.output(chunk))
        #expect(Array(chunkFrame[0..<8]) == [0xC0, 1, 0x08, 0, 4, 0, 0, 0])
        #expect(Array(chunkFrame[12..<17]) == [2] + le32(65_536))
        #expect(try FrameCodec.decode(chunkFrame) == .output(chunk))
    }

    @Test func outputWithoutCallIDIsStillDecodedWithOne() throws {
        // The output kind carries the call id: a non-zero id is legal, unlike on a log.
        #expect(try FrameCodec.decode(frame(kind: .output, callID: 77, payload: [1] + le32(1) + [65]))
                == .output(OutputChunk(id: 77, stream: .stdout, data: [65])))
    }

    @Test func rejectsEveryWASICap() {
        #expect(throws: ChannelError.corrupt(.bytesTooLong(length: 65_537, cap: FrameLimits.maxOutputChunkBytes))) {
            try FrameCodec.decode(frame(kind: .output, callID: 1, payload: [1] + le32(65_537) + [UInt8](repeating: 0, count: 65_537)))
        }
        let tail = le64(1000) + le32(32) + [UInt8](repeating: 0, count: 32) + le32(0) + [ModuleFormat.text.rawValue]
        // Too many arguments, too many environment entries, too many preopens.
        #expect(throws: ChannelError.corrupt(.countExceedsCap(count: 4097, cap: FrameLimits.maxWASIArguments))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(4097)))
        }
        #expect(throws: ChannelError.corrupt(.countExceedsCap(count: 4097, cap: FrameLimits.maxWASIArguments))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(4097)))
        }
        #expect(throws: ChannelError.corrupt(.countExceedsCap(count: 1025, cap: FrameLimits.maxWASIPreopens))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(0) + le32(1025)))
        }
        // A count under its cap but beyond the remaining bytes.
        #expect(throws: ChannelError.corrupt(.countExceedsRemaining(count: 4096, minimumElementSize: 4, remaining: tail.count + 8))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(4096) + le32(0) + le32(0) + tail))
        }
        // An argument, an environment entry, a preopen over their string caps.
        let longArgument = le32(UInt32(FrameLimits.maxWASIArgumentBytes + 1))
        #expect(throws: ChannelError.corrupt(.stringTooLong(length: UInt32(FrameLimits.maxWASIArgumentBytes + 1),
                                                            cap: FrameLimits.maxWASIArgumentBytes))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(1) + longArgument))
        }
        #expect(throws: ChannelError.corrupt(.stringTooLong(length: UInt32(FrameLimits.maxWASIArgumentBytes + 1),
                                                            cap: FrameLimits.maxWASIArgumentBytes))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(1) + longArgument))
        }
        #expect(throws: ChannelError.corrupt(.stringTooLong(length: UInt32(FrameLimits.maxNameBytes + 1), cap: FrameLimits.maxNameBytes))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(0) + le32(1)
                                        + le32(UInt32(FrameLimits.maxNameBytes + 1))))
        }
        // A module format byte that names no format.
        #expect(throws: ChannelError.corrupt(.invalidEnumValue(.moduleFormat, value: 2))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(0) + le32(0) + Array(tail.dropLast()) + [2]))
        }
        // A 64 KiB argument is fine.
        let big = String(repeating: "x", count: FrameLimits.maxWASIArgumentBytes)
        #expect((try? FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(1) + str(big) + le32(0) + le32(0) + tail))) != nil)
        // Invalid UTF-8 in an environment entry.
        #expect(throws: ChannelError.corrupt(.invalidUTF8)) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + le32(0) + le32(1) + le32(2) + [0xC3, 0x28]))
        }
        // Resolution 0, a seed of 31 and of 33 bytes.
        let lists = le32(0) + le32(0) + le32(0)
        #expect(throws: ChannelError.corrupt(.zeroClockResolution)) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + lists + le64(0) + Array(tail[8...])))
        }
        for length: UInt32 in [0, 31, 33, .max] {
            #expect(throws: ChannelError.corrupt(.bytesLengthMismatch(length: length, required: 32))) {
                try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead + lists + le64(1) + le32(length)
                                            + [UInt8](repeating: 0, count: 40)))
            }
        }
        // A bootstrap without the WASI tail (an older encoder) is truncated, not defaulted.
        #expect(throws: ChannelError.corrupt(.truncated(needed: 4, remaining: 0))) {
            try FrameCodec.decode(frame(kind: .bootstrap, payload: bootstrapHead))
        }
        // A call without stdin is truncated too.
        #expect(throws: ChannelError.corrupt(.truncated(needed: 4, remaining: 0))) {
            try FrameCodec.decode(frame(kind: .call, callID: 1, payload: le64(0) + le32(0) + le32(0) + [0]))
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<20_000 {
            var bytes = rng.bytes(rng.below(64))
            // Keep a valid-looking header half the time so the payload decoders get exercised.
            if rng.below(2) == 0, bytes.count >= 12 {
                bytes[0] = 0xC0
                bytes[1] = 1
                bytes[2] = FrameKind.allCases[rng.below(FrameKind.allCases.count)].rawValue
                bytes[3] = 0
                let n = UInt32(bytes.count - 12)
                for i in 0..<4 { bytes[8 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt32(i))) }
            }
            _ = try? FrameCodec.decode(bytes) as ChannelMessage
        }
    }

    @Test func errorMessagesNameBothSizes() {
        let text = ChannelError.messageTooLarge(size: 70000, limit: 65536).description
        #expect(text.contains("70000") && text.contains("65536"))
        #expect(ChannelError.system(operation: "mmap", errno: 12).description.contains("mmap"))
    }
}
