// Files beneath the preopened root: create, write, read, seek, stat, list, rename, remove, and the
// errno of paths that try to leave it.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    FILE *f = fopen("/data/out.txt", "w");
    if (!f) { perror("fopen"); return 2; }
    fprintf(f, "hello from wasi\nsecond line\n");
    fclose(f);

    int fd = open("/data/out.txt", O_RDWR);
    char buf[64] = {0};
    ssize_t n = read(fd, buf, 5);
    printf("read %zd: %.*s\n", n, (int)n, buf);
    printf("seek %lld\n", (long long)lseek(fd, -6, SEEK_END));
    n = read(fd, buf, sizeof buf - 1);
    printf("tail %zd: %.*s", n, (int)n, buf);
    n = pwrite(fd, "HELLO", 5, 0);
    printf("pwrite %zd\n", n);
    close(fd);

    struct stat st;
    stat("/data/out.txt", &st);
    printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));

    mkdir("/data/sub", 0755);
    rename("/data/out.txt", "/data/sub/moved.txt");
    f = fopen("/data/sub/moved.txt", "a");
    fputs("appended\n", f);
    fclose(f);
    f = fopen("/data/sub/moved.txt", "r");
    while (fgets(buf, sizeof buf, f)) printf("> %s", buf);
    fclose(f);

    char *names[64];
    int count = 0;
    DIR *d = opendir("/data");
    struct dirent *e;
    while ((e = readdir(d)) && count < 64) names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof *names, compare);
    for (int i = 0; i < count; i++) printf("entry %s\n", names[i]);

    // Refused by both; the errno differs (wasmtime 2x answers EPERM, Cordon NOTCAPABLE as wasmtime's
    // preview-1 implementation did), so only the refusal is compared.
    printf("escape open %d\n", open("/data/../../etc/passwd", O_RDONLY) >= 0);
    errno = 0;
    printf("missing open %d errno %s\n", open("/data/nope", O_RDONLY) >= 0, strerror(errno));
    errno = 0;
    printf("rmdir non-empty %d errno %s\n", rmdir("/data/sub"), strerror(errno));
    printf("unlink %d\n", unlink("/data/sub/moved.txt"));
    printf("rmdir %d\n", rmdir("/data/sub"));
    return 0;
}
