// How the worker turns a host errno or a broker status into the WASI errno the guest receives.

import CordonChannel
import Glibc

/// The worker's readings of a WASI errno (the enum itself is the channel's, shared with the broker).
extension WASIErrno {
    /// The WASI errno for a failed read of a donated file (`readv`/`preadv`'s errno); what a read can
    /// fail with keeps its meaning, anything else is EIO.
    static func code(forReadErrno e: Int32) -> UInt16 {
        let errno: WASIErrno
        switch e {
        case EBADF: errno = .badFileDescriptor
        case EISDIR: errno = .isDirectory
        case EINVAL: errno = .invalid
        case EFAULT: errno = .fault
        case EAGAIN: errno = .again
        case ESPIPE: errno = .invalidSeek
        case ENXIO: errno = .noDeviceOrAddress
        case EOVERFLOW: errno = .overflow
        case ENOMEM: errno = .noMemory
        default: errno = .io
        }
        return errno.rawValue
    }

    /// The guest-visible errno for a broker reply's status (docs/wasi.md): 0 or a positive WASI
    /// errno passes through; a negative one is the generic host-call refusal of docs/abi.md.
    static func code(forBrokerStatus status: Int64) -> UInt16 {
        switch status {
        case 0...Int64(maximum): UInt16(status)
        case -1: WASIErrno.noSys.rawValue
        case -2: WASIErrno.notCapable.rawValue
        case -3: WASIErrno.invalid.rawValue
        case -4: WASIErrno.again.rawValue
        case -5: WASIErrno.tooBig.rawValue
        default: WASIErrno.io.rawValue  // -6 (host error) and anything the table does not name
        }
    }
}
