import CordonChannel
import Glibc

extension WASIErrno {
    /// The one translation table from a Linux errno. `EXDEV` is not here: from `openat2` with
    /// `RESOLVE_BENEATH` it means an escape (`NOTCAPABLE`), from `renameat`/`linkat` a real
    /// cross-device operation; the caller knows which.
    public init(hostErrno e: Int32) {
        switch e {
        case 0: self = .success
        case E2BIG: self = .tooBig
        case EACCES: self = .access
        case EAGAIN: self = .again
        case EBADF: self = .badFileDescriptor
        case EBUSY: self = .busy
        case EDQUOT: self = .quota
        case EEXIST: self = .exist
        case EFAULT: self = .fault
        case EFBIG: self = .fileTooBig
        case EILSEQ: self = .illegalSequence
        case EINTR: self = .interrupted
        case EINVAL: self = .invalid
        case EIO: self = .io
        case EISDIR: self = .isDirectory
        case ELOOP: self = .loop
        case EMFILE: self = .tooManyOpenFiles
        case EMLINK: self = .tooManyLinks
        case ENAMETOOLONG: self = .nameTooLong
        case ENFILE: self = .tooManyOpenFilesInSystem
        case ENODEV: self = .noDevice
        case ENOENT: self = .noEntry
        case ENOMEM: self = .noMemory
        case ENOSPC: self = .noSpace
        case ENOSYS: self = .noSys
        case ENOTDIR: self = .notDirectory
        case ENOTEMPTY: self = .notEmpty
        case EOPNOTSUPP: self = .notSupported
        case ENOTTY: self = .notTTY
        case ENXIO: self = .noDeviceOrAddress
        case EOVERFLOW: self = .overflow
        case EPERM: self = .permission
        case EPIPE: self = .pipe
        case ERANGE: self = .range
        case EROFS: self = .readOnlyFileSystem
        case ESPIPE: self = .invalidSeek
        case ESTALE: self = .stale
        case ETIMEDOUT: self = .timedOut
        case ETXTBSY: self = .textBusy
        case EXDEV: self = .crossDevice
        default: self = .io
        }
    }
}
