// Sizes, offsets and constants of the WASI preview-1 C layouts (wasm32) that the worker reads or
// writes itself. Structures the broker returns (filestat, fdstat, prestat) are copied through unchanged.

enum WASILayout {
    static let fdstatSize: UInt32 = 24       // u8 filetype, u16 flags @2, u64 rights_base @8, u64 rights_inheriting @16
    static let filestatSize: UInt32 = 64     // dev, ino, filetype @16, nlink @24, size @32, atim @40, mtim @48, ctim @56
    static let prestatSize: UInt32 = 8       // u8 tag (0 = dir), 3 padding, u32 name length @4
    static let subscriptionSize: UInt32 = 48 // u64 userdata, u8 tag @8, clock: u32 id @16, u64 timeout @24, u64 precision @32, u16 flags @40; fd: u32 fd @16
    static let eventSize: UInt32 = 32        // u64 userdata, u16 error @8, u8 type @10, u64 nbytes @16, u16 flags @24

    static let filetypeCharacterDevice: UInt8 = 2

    // Rights bits (witx `rights`).
    static let rightFdRead: UInt64 = 1 << 1
    static let rightFdWrite: UInt64 = 1 << 6
    static let rightPollFdReadwrite: UInt64 = 1 << 27

    // Event types (witx `eventtype`).
    static let eventClock: UInt8 = 0
    static let eventFdRead: UInt8 = 1
    static let eventFdWrite: UInt8 = 2

    /// `subclockflags.subscription_clock_abstime`.
    static let clockAbsoluteTime: UInt16 = 1
}
