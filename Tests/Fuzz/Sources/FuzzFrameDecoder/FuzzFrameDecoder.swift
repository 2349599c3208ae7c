// libFuzzer target: the supervisor's view of the worker→host half of the channel.
//
// Input byte 0 picks the mode:
//   0x00–0x3F  FRAME:   the rest is one frame: FrameCodec.decode. A frame that decodes must re-encode to
//                        the exact same bytes (the codec is canonical: flags 0, no call id where none is
//                        carried, no trailing bytes), so a decoder that "accepts more" is caught too.
//   0x40–0x7F  OVERLAY: a real SharedMemoryBuffer (host side, 4 KiB rings) is created; the rest of the
//                        input is written over the whole mapping from offset 0 (header, counters, both
//                        rings), as a hostile worker can; then tryReceive until nil or a ChannelError.
//   0x80–0xFF  SCRIPT:  the rest is a script of worker actions interleaved with host reads, so the
//                        consumer's private head / lastTail evolve (wrap-around, counters going back…):
//                          0 tail:u64           publish a w2h tail
//                          1 off:u16 n:u8 bytes  write bytes into the w2h ring data at off (mod capacity)
//                          2                     host: tryReceive until nil / error
//                          3 off:u16 v:u32       write a u32 anywhere in the 4 KiB header
//                          4 len:u16             well-formed record of `len` frame bytes at the current tail
//                          5                     host: prepareToSleep()
//                          6                     set the worker-closed word
// Properties: no crash / ASan report; every failure is a ChannelError; a returned frame is at most
// maxMessageSize bytes; after a `.corrupt` error the host stops reading (as the supervisor kills).
import CordonChannel
#if canImport(Glibc)
import Glibc
#endif

let ringCapacity = 4096
let headerSize = 4096
let w2hTailOffset = 192
let workerClosedOffset = 576
let w2hData = headerSize + ringCapacity
let mappingSize = headerSize + 2 * ringCapacity

struct Input {
    var bytes: UnsafeRawBufferPointer
    var offset = 0
    var atEnd: Bool { offset >= bytes.count }
    mutating func u8() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
}

func fuzzFrame(_ data: UnsafeRawBufferPointer) {
    do throws(ChannelError) {
        let message = try FrameCodec.decode(data)
        let again = FrameCodec.encode(message)
        guard again.elementsEqual(data) else {
            fatalError("frame decoded but does not re-encode to the same bytes: \(message)")
        }
    } catch {
        // Typed throws: every failure is a ChannelError by construction. Describe it (exercises the
        // error text an operator sees) but keep it cheap.
        _ = error.description
    }
}

/// Drains the host side; returns false once the channel reported an error (the supervisor would kill).
func drain(_ channel: SharedMemoryBuffer) -> Bool {
    for _ in 0..<10_000 {
        do throws(ChannelError) {
            guard let message = try channel.tryReceive() else { return true }
            _ = message
        } catch {
            _ = error.description
            return false
        }
    }
    return true
}

func withChannel(_ body: (SharedMemoryBuffer, UnsafeMutableRawPointer) -> Void) {
    let channel: SharedMemoryBuffer
    do throws(ChannelError) {
        channel = try SharedMemoryBuffer.create(configuration: ChannelConfiguration(ringCapacity: ringCapacity,
                                                                                   spinIterations: 0))
    } catch {
        fatalError("cannot create a channel: \(error)")
    }
    // The hostile worker's view: our own MAP_SHARED mapping of the same memfd.
    guard let worker = mmap(nil, mappingSize, PROT_READ | PROT_WRITE, MAP_SHARED, channel.memfd, 0),
          worker != MAP_FAILED else { fatalError("mmap: \(errno)") }
    body(channel, worker)
    channel.close()
    munmap(worker, mappingSize)
}

func fuzzOverlay(_ data: UnsafeRawBufferPointer) {
    withChannel { channel, worker in
        let n = min(data.count, mappingSize)
        if n > 0 { memcpy(worker, data.baseAddress!, n) }
        _ = channel.prepareToSleep()
        _ = drain(channel)
    }
}

func fuzzScript(_ data: UnsafeRawBufferPointer) {
    withChannel { channel, worker in
        var input = Input(bytes: data)
        var tail: UInt64 = 0
        var steps = 0
        while !input.atEnd && steps < 256 {
            steps += 1
            switch input.u8() % 7 {
            case 0:
                tail = input.u64()
                worker.storeBytes(of: tail.littleEndian, toByteOffset: w2hTailOffset, as: UInt64.self)
            case 1:
                let off = Int(input.u16()) & (ringCapacity - 1)
                let n = Int(input.u8())
                for i in 0..<n { worker.storeBytes(of: input.u8(), toByteOffset: w2hData + (off + i) & (ringCapacity - 1), as: UInt8.self) }
            case 2:
                if !drain(channel) { return }
            case 3:
                let off = Int(input.u16()) & (headerSize - 4)
                worker.storeBytes(of: input.u32(), toByteOffset: off, as: UInt32.self)
            case 4:
                let len = Int(input.u16()) % ringCapacity
                let slot = Int(tail & UInt64(ringCapacity - 1)) & ~3
                worker.storeBytes(of: UInt32(len).littleEndian, toByteOffset: w2hData + slot, as: UInt32.self)
                for i in 0..<len { worker.storeBytes(of: input.u8(), toByteOffset: w2hData + (slot + 4 + i) & (ringCapacity - 1), as: UInt8.self) }
                tail &+= (UInt64(len) + 4 + 7) & ~7
                worker.storeBytes(of: tail.littleEndian, toByteOffset: w2hTailOffset, as: UInt64.self)
            case 5:
                _ = channel.prepareToSleep()
            default:
                worker.storeBytes(of: UInt32(1), toByteOffset: workerClosedOffset, as: UInt32.self)
            }
        }
        _ = drain(channel)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let all = UnsafeRawBufferPointer(start: data, count: size)
    let rest = UnsafeRawBufferPointer(rebasing: all[1...])
    switch all[0] {
    case 0x00...0x3F: fuzzFrame(rest)
    case 0x40...0x7F: fuzzOverlay(rest)
    default: fuzzScript(rest)
    }
    return 0
}
