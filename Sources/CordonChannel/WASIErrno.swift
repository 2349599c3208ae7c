// The errno values of WASI preview 1, in witx order: the raw value is the number on the wire.

/// A WASI preview-1 errno (`__WASI_ERRNO_*`, witx `errno`, a u16): the status of every brokered reply
/// (docs/wasi.md) and what the worker returns to the guest. One table for both sides of the channel,
/// so the two can never disagree on a number.
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

    /// The largest errno WASI preview 1 defines; a broker status above it is not a WASI errno.
    public static let maximum: UInt16 = WASIErrno.notCapable.rawValue

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
}
