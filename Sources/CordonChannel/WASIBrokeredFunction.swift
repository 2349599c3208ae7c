// The brokered half of WASI preview 1: the host calls a worker sends for a file operation.

/// The WASI preview-1 functions the supervisor's file broker performs for a worker (docs/wasi.md);
/// every other WASI function is answered inside the worker. The raw value is the host call's name
/// (`wasi.fd_seek`): the worker sends exactly these, and the supervisor performs nothing else.
///
/// The supervisor looks a name up once, when the call arrives; everything after dispatches on the
/// case. Comparing the worker's string against each name in turn cost a measurable share of a
/// brokered call on the reactor.
public enum WASIBrokeredFunction: String, CaseIterable, Sendable {
    case fdAdvise = "wasi.fd_advise", fdAllocate = "wasi.fd_allocate", fdClose = "wasi.fd_close"
    case fdDatasync = "wasi.fd_datasync", fdSync = "wasi.fd_sync"
    case fdFdstatGet = "wasi.fd_fdstat_get", fdFdstatSetFlags = "wasi.fd_fdstat_set_flags", fdFdstatSetRights = "wasi.fd_fdstat_set_rights"
    case fdFilestatGet = "wasi.fd_filestat_get", fdFilestatSetSize = "wasi.fd_filestat_set_size", fdFilestatSetTimes = "wasi.fd_filestat_set_times"
    case fdPread = "wasi.fd_pread", fdRead = "wasi.fd_read", fdPwrite = "wasi.fd_pwrite", fdWrite = "wasi.fd_write"
    case fdPrestatGet = "wasi.fd_prestat_get", fdPrestatDirName = "wasi.fd_prestat_dir_name"
    case fdReaddir = "wasi.fd_readdir", fdRenumber = "wasi.fd_renumber", fdSeek = "wasi.fd_seek", fdTell = "wasi.fd_tell"
    case pathCreateDirectory = "wasi.path_create_directory", pathFilestatGet = "wasi.path_filestat_get"
    case pathFilestatSetTimes = "wasi.path_filestat_set_times", pathLink = "wasi.path_link", pathOpen = "wasi.path_open"
    case pathReadlink = "wasi.path_readlink", pathRemoveDirectory = "wasi.path_remove_directory", pathRename = "wasi.path_rename"
    case pathSymlink = "wasi.path_symlink", pathUnlinkFile = "wasi.path_unlink_file"

    /// The function a host call names; nil for any other name. One hash lookup, where the
    /// synthesized `init(rawValue:)` compares the name with each case in turn.
    public init?(hostCallName: String) {
        guard let function = Self.byHostCallName[hostCallName] else { return nil }
        self = function
    }

    private static let byHostCallName: [String: WASIBrokeredFunction] =
        Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}
