#define _GNU_SOURCE
#include "CCordonShims.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// MARK: - Syscall wrappers

int cordon_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int cordon_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        tsp = &ts;
    }
    return (int)syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0);
}

int cordon_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

int cordon_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
int cordon_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}
int cordon_pidfd_getfd(int pidfd, int targetfd) { return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, 0); }
int cordon_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}
int cordon_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}
int cordon_gettid(void) { return (int)syscall(SYS_gettid); }

int cordon_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cordon_probe_namespaces(unsigned long flags) {
    // No exit signal (and __WALL below): nobody else's waitpid(-1) can reap this child, and no
    // SIGCHLD reaches the application. The child only returns from the syscall and _exits.
    long pid = syscall(SYS_clone, flags & ~0xFFUL, NULL, NULL, NULL, 0UL);
    if (pid == 0) _exit(0);
    if (pid < 0) return errno;
    int status;
    while (waitpid((pid_t)pid, &status, __WALL) < 0 && errno == EINTR) {}
    return 0;
}
unsigned long cordon_getauxval(unsigned long type) {
    return getauxval(type);
}
int cordon_pin_cpu(int pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < online && c < CPU_SETSIZE; c++) {
        if (cpu < 0 || c == cpu) CPU_SET((int)c, &set);
    }
    return sched_setaffinity(pid, sizeof set, &set);
}
long cordon_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    return syscall(nr, a1, a2, a3, a4, a5, a6);
}
int cordon_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

// MARK: - Channel helpers

int cordon_eventfd_nonblocking(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

long cordon_read_nowait(int fd, void *buf, unsigned long len, long long offset) {
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    return preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
}

int cordon_memfd_seal_size(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

// MARK: - Atomics

uint32_t cordon_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void cordon_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
uint64_t cordon_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void cordon_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
uint32_t cordon_exchange_u32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
uint32_t cordon_fetch_add_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
int cordon_compare_exchange_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 1 : 0;
}
void cordon_fence_seq_cst(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void cordon_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// MARK: - Spawn

struct spawn_ctx {
    const cordon_spawn_request *req;
    int exec_fd;                  // >= 0: execveat(exec_fd, "", AT_EMPTY_PATH) instead of execve(path)
    volatile int err;
    const char *volatile step;
};

// Runs in the child, sharing the parent's memory (CLONE_VM) while the parent is suspended
// (CLONE_VFORK). Only raw syscalls: no malloc, no locks, no stdio.
static int spawn_child(void *arg) {
    struct spawn_ctx *ctx = (struct spawn_ctx *)arg;
    const cordon_spawn_request *req = ctx->req;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        // Some signal numbers (glibc's internal ones) refuse; that is fine.
        (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, _NSIG / 8);
    }
    if (req->death_signal > 0 && prctl(PR_SET_PDEATHSIG, (unsigned long)req->death_signal, 0, 0, 0) != 0) {
        ctx->step = "prctl"; goto fail;
    }
    // Two phases so that a source fd that sits on a target number is never clobbered:
    // first lift every source above the target range, then place it.
    int lifted[64];
    int n = req->nfds > 64 ? 64 : req->nfds;
    // The executable's fd is lifted above the target range too (its number may be one of the
    // targets), then lands on fd n, close-on-exec, the one fd kept past close_range.
    int exec_lifted = -1;
    if (ctx->exec_fd >= 0) {
        exec_lifted = fcntl(ctx->exec_fd, F_DUPFD, n + 1);
        if (exec_lifted < 0) { ctx->step = "dup"; goto fail; }
    }
    for (int i = 0; i < n; i++) {
        lifted[i] = -1;
        if (req->fds[i] < 0) continue;
        lifted[i] = fcntl(req->fds[i], F_DUPFD, n > 3 ? n : 3);
        if (lifted[i] < 0) { ctx->step = "dup"; goto fail; }
    }
    for (int i = 0; i < n; i++) {
        if (lifted[i] < 0) { (void)close(i); continue; }
        if (dup2(lifted[i], i) < 0) { ctx->step = "dup"; goto fail; }
    }
    int keep_from = n;
    if (exec_lifted >= 0) {
        // CLOEXEC: an ELF binary needs no fd once exec'd, so the worker never holds its own file.
        if (dup3(exec_lifted, n, O_CLOEXEC) < 0) { ctx->step = "dup"; goto fail; }
        keep_from = n + 1;
    }
    if (syscall(SYS_close_range, (unsigned)keep_from, ~0U, 0) != 0) { ctx->step = "close_range"; goto fail; }
    if (chdir("/") != 0) { ctx->step = "chdir"; goto fail; }
    sigset_t none;
    sigemptyset(&none);
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
    if (exec_lifted >= 0) {
        syscall(SYS_execveat, n, "", req->argv, req->envp, AT_EMPTY_PATH);
        ctx->step = "execveat";
    } else {
        execve(req->path, req->argv, req->envp);
        ctx->step = "execve";
    }
fail:
    ctx->err = errno;
    syscall(SYS_exit_group, 127);
    return 127;
}

cordon_spawn_result cordon_spawn(const cordon_spawn_request *req) {
    return cordon_spawn_fd(req, -1);
}

cordon_spawn_result cordon_spawn_fd(const cordon_spawn_request *req, int exec_fd) {
    cordon_spawn_result result = { .pid = -1, .pidfd = -1, .err = 0, .step = NULL };
    const size_t stack_size = 64 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { result.err = errno; result.step = "stack"; return result; }

    struct spawn_ctx ctx = { .req = req, .exec_fd = exec_fd, .err = 0, .step = NULL };
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);   // no handler of ours may run on the shared stack
    int pidfd = -1;
    unsigned long flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | (unsigned long)req->clone_flags;
    pid_t pid = clone(spawn_child, (char *)stack + stack_size, (int)flags, &ctx, &pidfd);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, stack_size);

    if (pid < 0) { result.err = clone_errno; result.step = "clone"; return result; }
    if (ctx.step != NULL) {
        int status;
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
        if (pidfd >= 0) close(pidfd);
        result.err = ctx.err;
        result.step = ctx.step;
        return result;
    }
    result.pid = pid;
    result.pidfd = pidfd;
    return result;
}

// MARK: - Seccomp user notification

int cordon_seccomp_notif_recv(int listener, cordon_seccomp_event *out) {
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return -1;
    // The kernel may know a larger struct than our headers; give it room and zero it (it insists).
    _Alignas(8) unsigned char buffer[512];
    if (sizes.seccomp_notif > sizeof buffer) { errno = EOVERFLOW; return -1; }
    memset(buffer, 0, sizeof buffer);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, buffer) != 0) return -1;
    const struct seccomp_notif *n = (const struct seccomp_notif *)buffer;
    out->id = n->id;
    out->pid = n->pid;
    out->nr = n->data.nr;
    out->arch = n->data.arch;
    out->instruction_pointer = n->data.instruction_pointer;
    for (int i = 0; i < 6; i++) out->args[i] = n->data.args[i];
    return 0;
}

int cordon_seccomp_notif_deny(int listener, uint64_t id, int error) {
    _Alignas(8) unsigned char buffer[256];
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return -1;
    if (sizes.seccomp_notif_resp > sizeof buffer) { errno = EOVERFLOW; return -1; }
    memset(buffer, 0, sizeof buffer);
    struct seccomp_notif_resp *r = (struct seccomp_notif_resp *)buffer;
    r->id = id;
    r->val = 0;
    r->error = -error;
    r->flags = 0;
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, buffer);
}

int cordon_seccomp_notif_id_valid(int listener, uint64_t id) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id);
}

int cordon_seccomp_load_bpf(const void *filter, size_t length, unsigned int flags) {
    struct sock_fprog prog = { .len = (unsigned short)(length / sizeof(struct sock_filter)),
                               .filter = (struct sock_filter *)filter };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

// MARK: - SIGSYS reporter

static uint32_t *volatile sigsys_slot;

static void sigsys_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig; (void)uctx;
    uint32_t *slot = sigsys_slot;
    if (slot != NULL) {
        __atomic_store_n(&slot[1], (uint32_t)info->si_syscall, __ATOMIC_RELAXED);
        __atomic_store_n(&slot[2], (uint32_t)info->si_arch, __ATOMIC_RELAXED);
        __atomic_store_n(&slot[0], 1u, __ATOMIC_RELEASE);
        syscall(SYS_futex, &slot[0], FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    syscall(SYS_exit_group, 159);
}

int cordon_install_sigsys_reporter(uint32_t *slot) {
    sigsys_slot = slot;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigsys_handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL);
}

// MARK: - Credentials, namespaces, statfs

#include <sys/statfs.h>

int cordon_unshare(int flags) { return unshare(flags); }
int cordon_setresuid(uid_t ruid, uid_t euid, uid_t suid) { return setresuid(ruid, euid, suid); }
int cordon_setresgid(gid_t rgid, gid_t egid, gid_t sgid) { return setresgid(rgid, egid, sgid); }
int cordon_getresuid(uid_t *ruid, uid_t *euid, uid_t *suid) { return getresuid(ruid, euid, suid); }
int cordon_getresgid(gid_t *rgid, gid_t *egid, gid_t *sgid) { return getresgid(rgid, egid, sgid); }
int cordon_statfs(const char *path, int64_t *fs_type, uint64_t *mount_flags) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    *fs_type = (int64_t)fs.f_type;
    *mount_flags = (uint64_t)fs.f_flags;
    return 0;
}

int cordon_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    // struct open_how from <linux/openat2.h>, spelled out: the kernel checks its size argument.
    struct { uint64_t flags, mode, resolve; } how = { flags, mode, resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// MARK: - File donation

int cordon_seqpacket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int cordon_dup3(int oldfd, int newfd, int flags) { return dup3(oldfd, newfd, flags); }

int cordon_send_fd(int sock, int fd, uint32_t tag) {
    struct iovec iov = { .iov_base = &tag, .iov_len = sizeof tag };
    union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return -1;
    if ((size_t)n != sizeof tag) { errno = EMSGSIZE; return -1; }
    return 0;
}

int cordon_recv_fds(int sock, uint32_t *tag, int *tag_len, int *fds, int max_fds, int *nfds, int *truncated) {
    // Room for a few more fds than expected, so a message carrying several is seen (and closed)
    // rather than silently cut by the kernel.
    union { struct cmsghdr align; char bytes[CMSG_SPACE(8 * sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    uint32_t payload = 0;
    struct iovec iov = { .iov_base = &payload, .iov_len = sizeof payload };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
    ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    *tag = payload;
    *tag_len = (int)n;
    *truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
    *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (*nfds < max_fds) fds[(*nfds)++] = fd;
            else (void)close(fd);
        }
    }
    return 0;
}
