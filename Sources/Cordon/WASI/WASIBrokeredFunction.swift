/// The WASI preview-1 functions the supervisor's file broker performs for a worker (docs/wasi.md);
/// every other WASI function is answered inside the worker.
///
/// A worker names one in a host call as `wasi.<name>`. The name is looked up once, when the call
/// arrives; everything after dispatches on the case. Comparing the worker's string against each
/// name in turn cost a measurable share of a brokered call on the reactor.
enum WASIBrokeredFunction: String, CaseIterable, Sendable {
    case fdAdvise = "fd_advise", fdAllocate = "fd_allocate", fdClose = "fd_close"
    case fdDatasync = "fd_datasync", fdSync = "fd_sync"
    case fdFdstatGet = "fd_fdstat_get", fdFdstatSetFlags = "fd_fdstat_set_flags", fdFdstatSetRights = "fd_fdstat_set_rights"
    case fdFilestatGet = "fd_filestat_get", fdFilestatSetSize = "fd_filestat_set_size", fdFilestatSetTimes = "fd_filestat_set_times"
    case fdPread = "fd_pread", fdRead = "fd_read", fdPwrite = "fd_pwrite", fdWrite = "fd_write"
    case fdPrestatGet = "fd_prestat_get", fdPrestatDirName = "fd_prestat_dir_name"
    case fdReaddir = "fd_readdir", fdRenumber = "fd_renumber", fdSeek = "fd_seek", fdTell = "fd_tell"
    case pathCreateDirectory = "path_create_directory", pathFilestatGet = "path_filestat_get"
    case pathFilestatSetTimes = "path_filestat_set_times", pathLink = "path_link", pathOpen = "path_open"
    case pathReadlink = "path_readlink", pathRemoveDirectory = "path_remove_directory", pathRename = "path_rename"
    case pathSymlink = "path_symlink", pathUnlinkFile = "path_unlink_file"

    /// The function a host call names (`wasi.fd_seek`); nil for any other name.
    init?(hostCallName: String) {
        guard let function = Self.byHostCallName[hostCallName] else { return nil }
        self = function
    }

    /// The name a host call and an audit record give it.
    var hostCallName: String { "wasi." + rawValue }

    private static let byHostCallName: [String: WASIBrokeredFunction] =
        Dictionary(uniqueKeysWithValues: allCases.map { ($0.hostCallName, $0) })
}
