// A static probe run inside supervised containers by the supervisor's integration tests and by
// sonde-supervise-bench (busybox has no setfattr and cannot time single calls).
//   probe xattr PATH NAME VALUE           setxattr; prints "xattr=0" or "xattr=-ERRNO"
//   probe mknod-loop N DIR TYPE MAJ MIN   N x (mknod DIR/n TYPE MAJ:MIN; unlink), timing each mknod;
//                                         prints "calls=N ok=K errno=E median_ns=M p99_ns=P start_ns=S end_ns=E"
//                                         (start/end: CLOCK_MONOTONIC, comparable across containers)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "xattr") == 0) {
        int r = setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0);
        printf("xattr=%d\n", r == 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "mknod-loop") == 0) {
        int n = atoi(argv[2]);
        mode_t type = argv[4][0] == 'b' ? S_IFBLK : argv[4][0] == 'p' ? S_IFIFO : S_IFCHR;
        dev_t dev = makedev(atoi(argv[5]), atoi(argv[6]));
        char path[4096];
        snprintf(path, sizeof path, "%s/n", argv[3]);
        long long *took = calloc(n, sizeof *took);
        int ok = 0, last_errno = 0;
        long long begin = now_ns();
        for (int i = 0; i < n; i++) {
            long long start = now_ns();
            int r = mknod(path, type | 0600, dev);
            took[i] = now_ns() - start;
            if (r == 0) { ok++; unlink(path); } else last_errno = errno;
        }
        long long end = now_ns();
        qsort(took, n, sizeof *took, compare);
        printf("calls=%d ok=%d errno=%d median_ns=%lld p99_ns=%lld start_ns=%lld end_ns=%lld\n", n, ok, last_errno,
               took[n / 2], took[(n * 99) / 100], begin, end);
        return 0;
    }
    fprintf(stderr, "usage: probe xattr PATH NAME VALUE | probe mknod-loop N DIR c|b|p MAJ MIN\n");
    return 2;
}
