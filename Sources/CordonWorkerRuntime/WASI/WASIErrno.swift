// The WASI preview-1 errno values (witx `errno`, a u16). Only the ones Cordon answers itself are named;
// the broker's replies carry any value through unchanged.

import Glibc

/// A WASI preview-1 error number, returned to the guest as the i32 result of a WASI function.
enum WASIErrno: UInt16 {
    case success = 0
    case tooBig = 1        // E2BIG
    case again = 6         // EAGAIN
    case badf = 8          // EBADF
    case fault = 21        // EFAULT
    case inval = 28        // EINVAL
    case io = 29           // EIO
    case isdir = 31        // EISDIR
    case nametoolong = 37  // ENAMETOOLONG
    case nomem = 48        // ENOMEM
    case nosys = 52        // ENOSYS
    case notdir = 54       // ENOTDIR
    case notsock = 57      // ENOTSOCK
    case notsup = 58       // ENOTSUP
    case nxio = 60         // ENXIO
    case overflow = 61     // EOVERFLOW
    case spipe = 70        // ESPIPE
    case notcapable = 76   // ENOTCAPABLE

    /// The largest errno WASI preview 1 defines; a broker status above it is not a WASI errno.
    static let maximum: UInt16 = 76

    /// The WASI errno for a failed read of a donated file (`readv`/`preadv`'s errno); what a read can
    /// fail with keeps its meaning, anything else is EIO.
    static func code(forReadErrno e: Int32) -> UInt16 {
        let errno: WASIErrno
        switch e {
        case EBADF: errno = .badf
        case EISDIR: errno = .isdir
        case EINVAL: errno = .inval
        case EFAULT: errno = .fault
        case EAGAIN: errno = .again
        case ESPIPE: errno = .spipe
        case ENXIO: errno = .nxio
        case EOVERFLOW: errno = .overflow
        case ENOMEM: errno = .nomem
        default: errno = .io
        }
        return errno.rawValue
    }

    /// The guest-visible errno for a broker reply's status (docs/wasi.md): 0 or a positive WASI
    /// errno passes through; a negative one is the generic host-call refusal of docs/abi.md.
    static func code(forBrokerStatus status: Int64) -> UInt16 {
        switch status {
        case 0...Int64(maximum): UInt16(status)
        case -1: WASIErrno.nosys.rawValue
        case -2: WASIErrno.notcapable.rawValue
        case -3: WASIErrno.inval.rawValue
        case -4: WASIErrno.again.rawValue
        case -5: WASIErrno.tooBig.rawValue
        default: WASIErrno.io.rawValue  // -6 (host error) and anything the table does not name
        }
    }
}
