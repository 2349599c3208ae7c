/// What `cordon inspect` says about imports of module `wasi_snapshot_preview1`: which capability each
/// WASI function needs. Descriptors 0–2 (stdio) are the worker's own, so an `fd_*` call needs nothing
/// there; any other descriptor exists only when the policy grants a directory, so `fd_*` beyond stdio
/// and every `path_*` need `filesystem`. Arguments, environment, clocks, randomness, exit, yield and
/// poll need nothing.
enum WasiFunctionTable {
    /// The WASI import module this table describes.
    static let module = "wasi_snapshot_preview1"
    /// How the filesystem requirement is worded (in text and JSON output alike).
    static let filesystem = "filesystem (when a directory is granted)"

    /// What one WASI function needs.
    enum Requirement: Equatable {
        /// Never a capability.
        case none
        /// Nothing on stdio; `filesystem` on any other descriptor.
        case filesystemBeyondStdio
        /// `filesystem`.
        case filesystem
        /// Not a function of wasi_snapshot_preview1 that Cordon knows (sockets included).
        case unknown

        /// The capability in words, or nil when none is needed.
        var capability: String? {
            switch self {
            case .none, .unknown: nil
            case .filesystemBeyondStdio, .filesystem: WasiFunctionTable.filesystem
            }
        }

        /// The note `inspect` prints next to the import.
        var note: String {
            switch self {
            case .none: "no capability"
            case .filesystemBeyondStdio: "none on stdio; \(WasiFunctionTable.filesystem) on other descriptors"
            case .filesystem: "needs \(WasiFunctionTable.filesystem)"
            case .unknown: "not a WASI preview 1 function Cordon knows"
            }
        }

        /// The stable name used in `inspect --json`.
        var jsonName: String {
            switch self {
            case .none: "none"
            case .filesystemBeyondStdio: "filesystem_beyond_stdio"
            case .filesystem: "filesystem"
            case .unknown: "unknown"
            }
        }
    }

    /// Functions of wasi_snapshot_preview1 that never need a capability.
    static let free: Set<String> = [
        "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
        "random_get", "proc_exit", "proc_raise", "sched_yield", "poll_oneoff",
    ]

    /// The `fd_*` functions of wasi_snapshot_preview1.
    static let descriptorFunctions: Set<String> = [
        "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
        "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
        "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
        "fd_sync", "fd_tell", "fd_write",
    ]

    /// The `path_*` functions of wasi_snapshot_preview1.
    static let pathFunctions: Set<String> = [
        "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link", "path_open",
        "path_readlink", "path_remove_directory", "path_rename", "path_symlink", "path_unlink_file",
    ]

    /// What `name` needs.
    static func requirement(of name: String) -> Requirement {
        if free.contains(name) { return .none }
        if descriptorFunctions.contains(name) { return .filesystemBeyondStdio }
        if pathFunctions.contains(name) { return .filesystem }
        return .unknown
    }
}
