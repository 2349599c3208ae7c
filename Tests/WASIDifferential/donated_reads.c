// Reads of files opened read-only (which Cordon donates to the worker, docs/wasi.md) interleaved
// with the calls that stay brokered: seek, tell, stat, pread, readv, renumber and close; more files
// open at once than the worker's donated fd range holds; and files that are not donated (opened
// read-write, a directory). Every line must match wasmtime's.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wasi/api.h>

#define SIZE 200000
#define FILES 24

static unsigned char pattern(long i) { return (unsigned char)(i * 7 + i / 251); }

static unsigned sum(const unsigned char *p, long n) {
    unsigned h = 2166136261u;
    for (long i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static long tell(int fd) { return (long)lseek(fd, 0, SEEK_CUR); }

static int make(const char *path, long size, int salt) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    unsigned char chunk[8192];
    for (long at = 0; at < size;) {
        long n = size - at < (long)sizeof chunk ? size - at : (long)sizeof chunk;
        for (long i = 0; i < n; i++) chunk[i] = pattern(at + i + salt);
        if (write(fd, chunk, n) != n) return -1;
        at += n;
    }
    return close(fd);
}

static unsigned char buf[65536];

int main(void) {
    if (make("/data/big.bin", SIZE, 0) != 0) { printf("make failed %d\n", errno); return 2; }
    int fd = open("/data/big.bin", O_RDONLY);
    if (fd < 0) { printf("open failed %d\n", errno); return 2; }

    for (int i = 0; i < 3; i++) {
        ssize_t n = read(fd, buf, 4096);
        printf("read %zd sum %08x tell %ld\n", n, sum(buf, n), tell(fd));
    }
    printf("seek %ld\n", (long)lseek(fd, 1000, SEEK_SET));
    ssize_t n = read(fd, buf, 5000);
    printf("read %zd sum %08x tell %ld\n", n, sum(buf, n), tell(fd));
    n = pread(fd, buf, 3000, 150000);
    printf("pread %zd sum %08x tell %ld\n", n, sum(buf, n), tell(fd));
    n = pread(fd, buf, 3000, SIZE - 10);
    printf("pread at end %zd sum %08x\n", n, sum(buf, n));
    n = pread(fd, buf, 3000, SIZE + 10);
    printf("pread past end %zd\n", n);
    // A vectored read may fill only the first buffer (wasmtime does); what it read must be the file's
    // bytes in order, and the offset must have moved by exactly that much.
    struct iovec v[2] = { { buf, 100 }, { buf + 1000, 200 } };
    long before = tell(fd);
    n = readv(fd, v, 2);
    int good = n >= 100 && n <= 300 && tell(fd) == before + n;
    for (long i = 0; good && i < n; i++) good = (i < 100 ? buf[i] : buf[1000 + i - 100]) == pattern(before + i);
    printf("readv consistent %d\n", good);
    lseek(fd, 6300, SEEK_SET);
    printf("seek end %ld\n", (long)lseek(fd, -50, SEEK_END));
    n = read(fd, buf, 4096);
    printf("tail %zd sum %08x\n", n, sum(buf, n));
    printf("eof %zd\n", read(fd, buf, 4096));
    lseek(fd, 0, SEEK_SET);
    // A read may be short (Cordon's brokered reads stop at a host call's size): hash the stream, not the chunks.
    long total = 0;
    unsigned h = 2166136261u;
    while ((n = read(fd, buf, 65536)) > 0) {
        for (long i = 0; i < n; i++) h = (h ^ buf[i]) * 16777619u;
        total += n;
    }
    printf("whole %ld %08x\n", total, h);
    struct stat st;
    printf("fstat %d size %lld\n", fstat(fd, &st), (long long)st.st_size);

    // Renumber: a second open (its own offset) replaces the first under the first's number.
    int other = open("/data/big.bin", O_RDONLY);
    lseek(other, 50000, SEEK_SET);
    printf("renumber %d\n", __wasi_fd_renumber(other, fd));
    n = read(fd, buf, 100);
    printf("after renumber %zd sum %08x tell %ld\n", n, sum(buf, n), tell(fd));
    n = read(other, buf, 100);
    printf("old number %zd errno %d\n", n, n < 0 ? errno : 0);
    printf("close %d\n", close(fd));
    n = read(fd, buf, 100);
    printf("closed %zd errno %d\n", n, n < 0 ? errno : 0);

    // More files at once than the donated range holds: every one reads correctly.
    int fds[FILES];
    char name[64];
    for (int i = 0; i < FILES; i++) {
        snprintf(name, sizeof name, "/data/f%02d", i);
        if (make(name, 1000 + i * 37, i) != 0) { printf("make %s failed\n", name); return 2; }
        fds[i] = open(name, O_RDONLY);
    }
    for (int round = 0; round < 2; round++) {
        unsigned all = 0;
        for (int i = 0; i < FILES; i++) {
            n = pread(fds[i], buf, sizeof buf, 0);
            all = all * 31 + sum(buf, n) + (unsigned)n;
        }
        printf("files round %d %08x\n", round, all);
    }
    for (int i = 0; i < FILES; i++) close(fds[i]);

    // Not donated: read-write opens and directories behave as before.
    int rw = open("/data/big.bin", O_RDWR);
    n = read(rw, buf, 10);
    printf("rw read %zd sum %08x tell %ld\n", n, sum(buf, n), tell(rw));
    close(rw);
    int dir = open("/data", O_RDONLY | O_DIRECTORY);
    n = read(dir, buf, 10);
    printf("dir read %zd\n", n < 0 ? -1 : n);
    close(dir);
    printf("done\n");
    return 0;
}
