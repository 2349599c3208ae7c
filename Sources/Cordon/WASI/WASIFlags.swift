/// WASI preview-1 bit sets and enumerations the broker reads from a request or writes into a reply,
/// with the spec's values (wasi_snapshot_preview1.witx).
enum WASIRights {
    static let fdDatasync: UInt64 = 1 << 0
    static let fdRead: UInt64 = 1 << 1
    static let fdSeek: UInt64 = 1 << 2
    static let fdFdstatSetFlags: UInt64 = 1 << 3
    static let fdSync: UInt64 = 1 << 4
    static let fdTell: UInt64 = 1 << 5
    static let fdWrite: UInt64 = 1 << 6
    static let fdAdvise: UInt64 = 1 << 7
    static let fdAllocate: UInt64 = 1 << 8
    static let pathCreateDirectory: UInt64 = 1 << 9
    static let pathCreateFile: UInt64 = 1 << 10
    static let pathLinkSource: UInt64 = 1 << 11
    static let pathLinkTarget: UInt64 = 1 << 12
    static let pathOpen: UInt64 = 1 << 13
    static let fdReaddir: UInt64 = 1 << 14
    static let pathReadlink: UInt64 = 1 << 15
    static let pathRenameSource: UInt64 = 1 << 16
    static let pathRenameTarget: UInt64 = 1 << 17
    static let pathFilestatGet: UInt64 = 1 << 18
    static let pathFilestatSetSize: UInt64 = 1 << 19
    static let pathFilestatSetTimes: UInt64 = 1 << 20
    static let fdFilestatGet: UInt64 = 1 << 21
    static let fdFilestatSetSize: UInt64 = 1 << 22
    static let fdFilestatSetTimes: UInt64 = 1 << 23
    static let pathSymlink: UInt64 = 1 << 24
    static let pathRemoveDirectory: UInt64 = 1 << 25
    static let pathUnlinkFile: UInt64 = 1 << 26
    static let pollFdReadwrite: UInt64 = 1 << 27
    static let sockShutdown: UInt64 = 1 << 28
    static let sockAccept: UInt64 = 1 << 29
    /// Every right the spec defines.
    static let all: UInt64 = (1 << 30) - 1

    /// What a directory fd may do itself, and what it hands to what is opened beneath it.
    static let directoryBase: UInt64 = fdFdstatSetFlags | fdSync | fdAdvise | pathCreateDirectory | pathCreateFile
        | pathLinkSource | pathLinkTarget | pathOpen | fdReaddir | pathReadlink | pathRenameSource
        | pathRenameTarget | pathFilestatGet | pathFilestatSetSize | pathFilestatSetTimes | fdFilestatGet
        | fdFilestatSetTimes | pathSymlink | pathRemoveDirectory | pathUnlinkFile | pollFdReadwrite
    /// What a regular file fd may do.
    static let fileBase: UInt64 = fdDatasync | fdRead | fdSeek | fdFdstatSetFlags | fdSync | fdTell | fdWrite
        | fdAdvise | fdAllocate | fdFilestatGet | fdFilestatSetSize | fdFilestatSetTimes | pollFdReadwrite
    /// Rights that need the file opened for writing.
    static let needWrite: UInt64 = fdWrite | fdAllocate | fdFilestatSetSize | fdDatasync
    /// Rights that need the file opened for reading.
    static let needRead: UInt64 = fdRead | fdReaddir
}

enum WASIOpenFlags {
    static let create: UInt16 = 1 << 0
    static let directory: UInt16 = 1 << 1
    static let exclusive: UInt16 = 1 << 2
    static let truncate: UInt16 = 1 << 3
}

enum WASIFdFlags {
    static let append: UInt16 = 1 << 0
    static let dsync: UInt16 = 1 << 1
    static let nonblock: UInt16 = 1 << 2
    static let rsync: UInt16 = 1 << 3
    static let sync: UInt16 = 1 << 4
}

enum WASILookupFlags {
    static let symlinkFollow: UInt32 = 1 << 0
}

enum WASITimeFlags {
    static let atim: UInt16 = 1 << 0
    static let atimNow: UInt16 = 1 << 1
    static let mtim: UInt16 = 1 << 2
    static let mtimNow: UInt16 = 1 << 3
}

/// `filetype`.
enum WASIFileType: UInt8 {
    case unknown = 0, blockDevice, characterDevice, directory, regularFile, socketDgram, socketStream, symbolicLink
}
