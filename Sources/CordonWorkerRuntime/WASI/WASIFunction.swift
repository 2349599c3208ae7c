// The functions of `wasi_snapshot_preview1` with their exact core-wasm signatures (the witx of WASI
// preview 1 lowered to wasm32: pointers, sizes, fds and flags are i32; offsets, rights, timestamps i64).
import WasmKit

/// One function of WASI preview 1. The raw value indexes `WASIFunction.signatures`, so a linked import
/// is dispatched by a switch, never by its name.
enum WASIFunction: Int, CaseIterable {
    case argsGet, argsSizesGet, environGet, environSizesGet, clockResGet, clockTimeGet
    case fdAdvise, fdAllocate, fdClose, fdDatasync, fdFdstatGet, fdFdstatSetFlags, fdFdstatSetRights
    case fdFilestatGet, fdFilestatSetSize, fdFilestatSetTimes, fdPread, fdPrestatGet, fdPrestatDirName
    case fdPwrite, fdRead, fdReaddir, fdRenumber, fdSeek, fdSync, fdTell, fdWrite
    case pathCreateDirectory, pathFilestatGet, pathFilestatSetTimes, pathLink, pathOpen, pathReadlink
    case pathRemoveDirectory, pathRename, pathSymlink, pathUnlinkFile
    case pollOneoff, procExit, procRaise, schedYield, randomGet
    case sockAccept, sockRecv, sockSend, sockShutdown

    /// The import module every WASI preview-1 toolchain uses.
    static let moduleName = "wasi_snapshot_preview1"

    private static let table: [(name: String, parameters: [ValueType], results: [ValueType])] = {
        let p = ValueType.i32, l = ValueType.i64
        let errno: [ValueType] = [.i32]
        return [
            ("args_get", [p, p], errno),
            ("args_sizes_get", [p, p], errno),
            ("environ_get", [p, p], errno),
            ("environ_sizes_get", [p, p], errno),
            ("clock_res_get", [p, p], errno),
            ("clock_time_get", [p, l, p], errno),
            ("fd_advise", [p, l, l, p], errno),
            ("fd_allocate", [p, l, l], errno),
            ("fd_close", [p], errno),
            ("fd_datasync", [p], errno),
            ("fd_fdstat_get", [p, p], errno),
            ("fd_fdstat_set_flags", [p, p], errno),
            ("fd_fdstat_set_rights", [p, l, l], errno),
            ("fd_filestat_get", [p, p], errno),
            ("fd_filestat_set_size", [p, l], errno),
            ("fd_filestat_set_times", [p, l, l, p], errno),
            ("fd_pread", [p, p, p, l, p], errno),
            ("fd_prestat_get", [p, p], errno),
            ("fd_prestat_dir_name", [p, p, p], errno),
            ("fd_pwrite", [p, p, p, l, p], errno),
            ("fd_read", [p, p, p, p], errno),
            ("fd_readdir", [p, p, p, l, p], errno),
            ("fd_renumber", [p, p], errno),
            ("fd_seek", [p, l, p, p], errno),
            ("fd_sync", [p], errno),
            ("fd_tell", [p, p], errno),
            ("fd_write", [p, p, p, p], errno),
            ("path_create_directory", [p, p, p], errno),
            ("path_filestat_get", [p, p, p, p, p], errno),
            ("path_filestat_set_times", [p, p, p, p, l, l, p], errno),
            ("path_link", [p, p, p, p, p, p, p], errno),
            ("path_open", [p, p, p, p, p, l, l, p, p], errno),
            ("path_readlink", [p, p, p, p, p, p], errno),
            ("path_remove_directory", [p, p, p], errno),
            ("path_rename", [p, p, p, p, p, p], errno),
            ("path_symlink", [p, p, p, p, p], errno),
            ("path_unlink_file", [p, p, p], errno),
            ("poll_oneoff", [p, p, p, p], errno),
            ("proc_exit", [p], []),
            ("proc_raise", [p], errno),
            ("sched_yield", [], errno),
            ("random_get", [p, p], errno),
            ("sock_accept", [p, p, p], errno),
            ("sock_recv", [p, p, p, p, p, p], errno),
            ("sock_send", [p, p, p, p, p], errno),
            ("sock_shutdown", [p, p], errno),
        ]
    }()

    private static let byName: [String: WASIFunction] = Dictionary(
        uniqueKeysWithValues: allCases.map { (table[$0.rawValue].name, $0) })

    /// The function an import names, or nil for a name WASI preview 1 does not have.
    init?(name: String) {
        guard let function = Self.byName[name] else { return nil }
        self = function
    }

    /// The WASI name, e.g. "fd_write".
    var name: String { Self.table[rawValue].name }

    /// The exact core-wasm type WASI preview 1 gives this function.
    var type: FunctionType { FunctionType(parameters: Self.table[rawValue].parameters, results: Self.table[rawValue].results) }

    /// "(i32, i64, …) -> i32", for link errors.
    var signatureText: String {
        let entry = Self.table[rawValue]
        let params = entry.parameters.map { "\($0)" }.joined(separator: ", ")
        let results = entry.results.isEmpty ? "()" : entry.results.map { "\($0)" }.joined(separator: ", ")
        return "(\(params)) -> \(results)"
    }
}
