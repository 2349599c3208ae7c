/// One guest fd ≥ 3: the host fd behind it and what the guest may do with it.
struct WASIOpenFile {
    /// The supervisor's fd; an `O_PATH` directory fd for a preopen.
    var hostFD: Int32
    var type: WASIFileType
    /// The preopen's guest path when this fd is a preopen (`fd_prestat_*`), else nil.
    var preopenName: String?
    /// Inherited from the preopen it was opened beneath: refuses every mutation with `EROFS`.
    var readOnly: Bool
    var rightsBase: UInt64
    var rightsInheriting: UInt64
    var fdflags: UInt16

    var isDirectory: Bool { type == .directory }
}

/// The guest's fd table above stdio: lowest free number first, as POSIX and WASI expect, and never
/// more than `capacity` entries (preopens included).
struct WASIFileTable {
    static let firstFD: Int32 = 3
    private(set) var entries: [Int32: WASIOpenFile] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var isFull: Bool { entries.count >= capacity }

    subscript(fd: Int32) -> WASIOpenFile? {
        get { entries[fd] }
        set { entries[fd] = newValue }
    }

    /// Stores `file` under the lowest free number ≥ 3; the caller checked `isFull`.
    mutating func insert(_ file: WASIOpenFile) -> Int32 {
        var fd = WASIFileTable.firstFD
        while entries[fd] != nil { fd += 1 }
        entries[fd] = file
        return fd
    }

    mutating func remove(_ fd: Int32) -> WASIOpenFile? { entries.removeValue(forKey: fd) }

    mutating func removeAll() -> [WASIOpenFile] {
        defer { entries.removeAll() }
        return Array(entries.values)
    }
}
