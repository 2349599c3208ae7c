/// Why a brokered call failed: the WASI errno for the reply, and whether the broker refused it on
/// its own authority (an escape, a read-only preopen, a malformed path, a limit), which is audited
/// as `fs.denied`. Ordinary outcomes (`ENOENT`, `EEXIST`, …) are answered but not audited.
struct WASIRefusal: Error, Equatable {
    var errno: WASIErrno
    var denied: Bool

    static func outcome(_ errno: WASIErrno) -> WASIRefusal { WASIRefusal(errno: errno, denied: false) }
    static func deny(_ errno: WASIErrno) -> WASIRefusal { WASIRefusal(errno: errno, denied: true) }
}
