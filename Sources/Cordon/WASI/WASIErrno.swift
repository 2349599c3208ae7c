import Glibc

/// A WASI preview-1 errno (`__WASI_ERRNO_*`): the status of every brokered reply (docs/wasi.md).
public enum WASIErrno: UInt16, Sendable, CaseIterable {
    case success = 0, tooBig, access, addressInUse, addressNotAvailable, addressFamilyNotSupported, again,
         already, badFileDescriptor, badMessage, busy, canceled, child, connectionAborted, connectionRefused,
         connectionReset, deadlock, destinationAddressRequired, domain, quota, exist, fault, fileTooBig,
         hostUnreachable, identifierRemoved, illegalSequence, inProgress, interrupted, invalid, io, isConnected,
         isDirectory, loop, tooManyOpenFiles, tooManyLinks, messageSize, multihop, nameTooLong, networkDown,
         networkReset, networkUnreachable, tooManyOpenFilesInSystem, noBuffers, noDevice, noEntry, noExec,
         noLock, noLink, noMemory, noMessage, noProtocolOption, noSpace, noSys, notConnected, notDirectory,
         notEmpty, notRecoverable, notSocket, notSupported, notTTY, noDeviceOrAddress, overflow, ownerDead,
         permission, pipe, proto, protocolNotSupported, protocolType, range, readOnlyFileSystem, invalidSeek,
         noProcess, stale, timedOut, textBusy, crossDevice, notCapable

    /// The name as in the WASI spec (`NOTCAPABLE`), used in audit records and errors.
    public var name: String { WASIErrno.names[Int(rawValue)] }

    private static let names = [
        "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN", "ALREADY", "BADF",
        "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED", "CONNREFUSED", "CONNRESET", "DEADLK", "DESTADDRREQ",
        "DOM", "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ", "INPROGRESS", "INTR", "INVAL",
        "IO", "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK", "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN",
        "NETRESET", "NETUNREACH", "NFILE", "NOBUFS", "NODEV", "NOENT", "NOEXEC", "NOLCK", "NOLINK", "NOMEM",
        "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS", "NOTCONN", "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK",
        "NOTSUP", "NOTTY", "NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT",
        "PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
    ]

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
