// CCordonShims: the only C in Cordon. It holds what Swift cannot do safely:
//  - syscall wrappers glibc lacks or exposes only as variadic functions (Swift cannot call variadics);
//  - atomics on memory shared with another process (Swift's Atomic needs memory it owns);
//  - the code between clone and exec (only raw, async-signal-safe syscalls may run there);
//  - the SIGSYS handler (must be async-signal-safe).
// Every function returns -1 and leaves errno set on failure unless documented otherwise.
#ifndef CCORDON_SHIMS_H
#define CCORDON_SHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

// Constants glibc hides behind _GNU_SOURCE, which a header must not define for its includer.
static const unsigned int CORDON_MFD_CLOEXEC = 0x0001U;
static const unsigned int CORDON_MFD_ALLOW_SEALING = 0x0002U;
static const int CORDON_F_ADD_SEALS = 1033;
static const int CORDON_F_SEAL_SEAL = 0x0001;
static const int CORDON_F_SEAL_SHRINK = 0x0002;
static const int CORDON_F_SEAL_GROW = 0x0004;
static const int CORDON_F_SEAL_WRITE = 0x0008;

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Syscall wrappers

int cordon_memfd_create(const char *name, unsigned int flags);
/// FUTEX_WAIT (shared, not PRIVATE: the word lives in a MAP_SHARED mapping of two processes).
/// `timeout_ns` < 0 waits forever. Returns 0 when woken, -1 with errno EAGAIN/ETIMEDOUT/EINTR.
int cordon_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns);
/// FUTEX_WAKE (shared). Returns the number of waiters woken.
int cordon_futex_wake(uint32_t *word, int count);
int cordon_pidfd_open(pid_t pid, unsigned int flags);
int cordon_pidfd_send_signal(int pidfd, int sig);
int cordon_pidfd_getfd(int pidfd, int targetfd);
int cordon_close_range(unsigned int first, unsigned int last, unsigned int flags);
int cordon_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
int cordon_gettid(void);
/// pipe2(fds, O_CLOEXEC) (glibc declares pipe2 only under _GNU_SOURCE).
int cordon_pipe_cloexec(int fds[2]);
/// Whether an unprivileged process may create the namespaces in `flags` (CLONE_NEW*, with
/// CLONE_NEWUSER): clones a child with them that exits at once, reaps it, and returns 0 or the clone's
/// errno. A non-root supervisor asks before it hands a worker a plan that would unshare them.
int cordon_probe_namespaces(unsigned long flags);
/// getauxval(3) (<sys/auxv.h> is not part of Swift's Glibc module): the worker finds its own program
/// headers through AT_PHDR/AT_PHNUM.
unsigned long cordon_getauxval(unsigned long type);
/// sched_setaffinity to one CPU (cpu >= 0) or to every online CPU (cpu < 0); pid 0 is the calling
/// thread. For cordon-bench, which compares two sides of a measurement on the same CPU.
int cordon_pin_cpu(int pid, int cpu);
/// Raw syscall(2) with six arguments: used by the escape probe to attempt forbidden calls directly.
long cordon_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
int cordon_pivot_root(const char *new_root, const char *put_old);

// MARK: - Channel helpers (glibc's eventfd.h and the memfd seal constants are not visible to Swift)

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): the channel's doorbell.
int cordon_eventfd_nonblocking(void);
/// fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) on a memfd created with
/// MFD_ALLOW_SEALING: a peer holding the fd can then never truncate it under our mapping (SIGBUS).
int cordon_memfd_seal_size(int fd);

// MARK: - Non-blocking file reads (preadv2 is not visible to Swift)

/// preadv2(fd, {buf, len}, 1, offset, RWF_NOWAIT): reads only what the page cache already holds and
/// fails with EAGAIN instead of waiting for the disk. offset -1 reads at (and advances) the file
/// position. Lets the reactor serve a cached read without the hand-off to a thread that may block.
long cordon_read_nowait(int fd, void *buf, unsigned long len, long long offset);

// MARK: - File donation (CMSG_* are macros Swift cannot import)

/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC): the donation socket, one message per file.
int cordon_seqpacket_pair(int fds[2]);
/// dup3(2) (glibc declares it only under _GNU_SOURCE).
int cordon_dup3(int oldfd, int newfd, int flags);
/// sendmsg(sock, {tag (u32)}, SCM_RIGHTS {fd}, MSG_DONTWAIT | MSG_NOSIGNAL): never blocks, never
/// raises SIGPIPE. Returns 0 when the whole message was queued.
int cordon_send_fd(int sock, int fd, uint32_t tag);
/// recvmsg(sock, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) of one message: stores its payload (at most 4 bytes)
/// in *tag and its length in *tag_len, every fd it carried in fds[0..<max_fds] (the count in *nfds;
/// fds past max_fds are closed here) and whether the kernel truncated payload or control data in
/// *truncated. Returns 0, or -1 with errno (EAGAIN: no message).
int cordon_recv_fds(int sock, uint32_t *tag, int *tag_len, int *fds, int max_fds, int *nfds, int *truncated);

// MARK: - Atomics on shared memory

uint32_t cordon_load_acquire_u32(const uint32_t *p);
void cordon_store_release_u32(uint32_t *p, uint32_t v);
uint64_t cordon_load_acquire_u64(const uint64_t *p);
void cordon_store_release_u64(uint64_t *p, uint64_t v);
uint32_t cordon_exchange_u32(uint32_t *p, uint32_t v);
uint32_t cordon_fetch_add_u32(uint32_t *p, uint32_t v);
/// Returns 1 and stores `desired` if *p == expected, else 0.
int cordon_compare_exchange_u32(uint32_t *p, uint32_t expected, uint32_t desired);
void cordon_fence_seq_cst(void);
void cordon_cpu_relax(void);

// MARK: - Spawning a worker (clone3 + exec)

/// What `cordon_spawn` needs. Everything is prepared by the caller before the clone: the child runs
/// only raw syscalls (dup2/dup3, close_range, prctl, sigaction, sigprocmask, chdir, execve).
typedef struct cordon_spawn_request {
    const char *path;          ///< absolute path of the executable
    char *const *argv;         ///< NULL-terminated
    char *const *envp;         ///< NULL-terminated (may be just {NULL})
    const int *fds;            ///< fds[i] becomes fd i in the child (-1: left closed); all others are closed
    int nfds;
    uint64_t clone_flags;      ///< CLONE_NEW* namespace flags to create the child in (0 for none)
    int death_signal;          ///< PR_SET_PDEATHSIG in the child before exec (e.g. SIGKILL); 0 for none
} cordon_spawn_request;

/// Outcome of `cordon_spawn`. On failure `pid` is -1, `err` the errno, `step` names where it failed:
/// "stack", "clone", or a child-side step ("sigaction", "prctl", "dup", "close_range", "chdir", "execve").
typedef struct cordon_spawn_result {
    pid_t pid;
    int pidfd;
    int err;
    const char *step;
} cordon_spawn_result;

/// clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | clone_flags) then, in the child: reset signal
/// dispositions, set the parent-death signal, move `fds` into place, close everything else,
/// chdir("/"), unblock signals, execve. This is what posix_spawn does, plus namespaces, a pidfd and
/// PDEATHSIG with no window. A child-side failure is written to memory shared with the (suspended)
/// parent, so the caller gets errno and step synchronously; the failed child is already reaped.
/// PR_SET_PDEATHSIG fires when the *thread* that spawned dies: call this from a long-lived thread.
cordon_spawn_result cordon_spawn(const cordon_spawn_request *req);

/// `cordon_spawn`, but the child execs the open file `exec_fd` (execveat(fd, "", argv, envp,
/// AT_EMPTY_PATH); `req->path` is then only for messages): the binary checked once by the caller is
/// the one every worker runs, whatever later happens at its path. The fd may be close-on-exec in
/// the caller; the child holds a close-on-exec copy past the fd range until the exec (step
/// "execveat"). `exec_fd` < 0 behaves as `cordon_spawn`.
cordon_spawn_result cordon_spawn_fd(const cordon_spawn_request *req, int exec_fd);

// MARK: - Seccomp user notification (the supervisor reads the kernel's account of a denied syscall)

typedef struct cordon_seccomp_event {
    uint64_t id;
    uint32_t pid;
    int32_t nr;
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t args[6];
} cordon_seccomp_event;

/// SECCOMP_IOCTL_NOTIF_RECV into a correctly sized buffer (SECCOMP_GET_NOTIF_SIZES).
int cordon_seccomp_notif_recv(int listener, cordon_seccomp_event *out);
/// SECCOMP_IOCTL_NOTIF_SEND: fail the syscall with -error (error > 0).
int cordon_seccomp_notif_deny(int listener, uint64_t id, int error);
int cordon_seccomp_notif_id_valid(int listener, uint64_t id);
/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) for a filter exported by libseccomp (seccomp_export_bpf_mem).
int cordon_seccomp_load_bpf(const void *filter, size_t length, unsigned int flags);

// MARK: - SIGSYS reporter (fallback when user notification is unavailable)

/// Installs an async-signal-safe SIGSYS handler for SECCOMP_RET_TRAP: it stores si_syscall and si_arch
/// into `slot[1]`, `slot[2]`, sets `slot[0] = 1` (release), wakes a futex on slot[0], then exit_group(159).
/// The values are worker-reported and must be labelled as such by the supervisor.
int cordon_install_sigsys_reporter(uint32_t *slot);

// MARK: - Credentials, namespaces, statfs (used by CordonJail; glibc declares them only under _GNU_SOURCE)

/// unshare(2).
int cordon_unshare(int flags);
/// glibc's setresuid/setresgid (they apply to every thread of the process, unlike the raw syscalls).
int cordon_setresuid(uid_t ruid, uid_t euid, uid_t suid);
int cordon_setresgid(gid_t rgid, gid_t egid, gid_t sgid);
int cordon_getresuid(uid_t *ruid, uid_t *euid, uid_t *suid);
int cordon_getresgid(gid_t *rgid, gid_t *egid, gid_t *sgid);
/// statfs(2) reduced to what confinement verifies: the filesystem magic and the ST_* mount flags.
int cordon_statfs(const char *path, int64_t *fs_type, uint64_t *mount_flags);

// MARK: - Path resolution for the WASI file broker
// openat2(2) flags glibc 2.36 does not define (<linux/openat2.h>), and the _GNU_SOURCE open flags.
static const uint64_t CORDON_RESOLVE_NO_XDEV = 0x01;
static const uint64_t CORDON_RESOLVE_NO_MAGICLINKS = 0x02;
static const uint64_t CORDON_RESOLVE_NO_SYMLINKS = 0x04;
static const uint64_t CORDON_RESOLVE_BENEATH = 0x08;
static const int CORDON_O_PATH = 010000000;
static const int CORDON_AT_EMPTY_PATH = 0x1000;
/// openat2(2): the kernel resolves `path` relative to `dirfd` under the `resolve` restrictions
/// (RESOLVE_BENEATH refuses `..` out, absolute paths and absolute symlinks with EXDEV). glibc 2.36
/// has no wrapper. Returns the new fd, or -1 with errno.
int cordon_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

#ifdef __cplusplus
}
#endif
#endif
