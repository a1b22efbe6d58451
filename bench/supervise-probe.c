// A static probe run inside supervised containers by the supervisor's integration tests and by
// sonde-supervise-bench (busybox has no setfattr and cannot time single calls).
//   probe xattr PATH NAME VALUE           setxattr; prints "xattr=0" or "xattr=-ERRNO"
//   probe mknod-loop N DIR TYPE MAJ MIN   N x (mknod DIR/n TYPE MAJ:MIN; unlink), timing each mknod;
//                                         prints "calls=N ok=K errno=E median_ns=M p99_ns=P start_ns=S end_ns=E"
//                                         (start/end: CLOCK_MONOTONIC, comparable across containers)
// The supervisor's attack tests (Tests/IntegrationTests/SupervisorAttackTests.swift):
//   probe openw PATH                      open for writing and close at once (never writes); "openw=0|-ERRNO"
//   probe fxattr PATH NAME VALUE          fsetxattr on an fd of PATH; "fxattr=0|-ERRNO"
//   probe fdxattr FD NAME VALUE           fsetxattr on an inherited fd; "fdxattr=0|-ERRNO"
//   probe fcap PATH                       setxattr security.capability (a valid v2 set: cap_net_raw); "fcap=0|-ERRNO"
//   probe ptrace-helpers                  PTRACE_ATTACH to every process named sonde-supervise* it can see;
//                                         "helpers=N attached=K errno=E"
//   probe unshare-user | keyctl | fsopen | listener
//                                         unshare(CLONE_NEWUSER), keyctl(GET_KEYRING_ID), fsopen("tmpfs"),
//                                         seccomp(SET_MODE_FILTER, NEW_LISTENER); "NAME=0|-ERRNO"
//   probe as UID GID GROUPS CMD...        setgroups (comma list, or - for none), setresgid, setresuid, exec CMD
//   probe userns CMD...                   a user namespace of its own (unshare -r: ids mapped to 0 where allowed), exec CMD
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
    if (argc == 3 && strcmp(argv[1], "openw") == 0) {
        int fd = open(argv[2], O_WRONLY);
        printf("openw=%d\n", fd >= 0 ? 0 : -errno);
        if (fd >= 0) close(fd);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fxattr") == 0) {
        int fd = open(argv[2], O_RDONLY);
        int r = fd < 0 ? -1 : fsetxattr(fd, argv[3], argv[4], strlen(argv[4]), 0);
        printf("fxattr=%d\n", r == 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fdxattr") == 0) {
        int r = fsetxattr(atoi(argv[2]), argv[3], argv[4], strlen(argv[4]), 0);
        printf("fdxattr=%d\n", r == 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "fcap") == 0) {
        // struct vfs_cap_data, revision 2: magic_etc, then permitted/inheritable for two 32-bit words.
        unsigned int data[5] = { 0x02000000, 1u << 13, 0, 0, 0 };
        int r = setxattr(argv[2], "security.capability", data, sizeof data, 0);
        printf("fcap=%d\n", r == 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "ptrace-helpers") == 0) {
        int found = 0, attached = 0, last = 0;
        DIR *proc = opendir("/proc");
        struct dirent *entry;
        while (proc && (entry = readdir(proc))) {
            int pid = atoi(entry->d_name);
            if (pid <= 0 || pid == getpid()) continue;
            char path[64], comm[32] = "";
            snprintf(path, sizeof path, "/proc/%d/comm", pid);
            FILE *f = fopen(path, "r");
            if (!f) continue;
            if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
            fclose(f);
            if (strncmp(comm, "sonde-supervis", 14) != 0) continue;
            found++;
            if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
                attached++;
                waitpid(pid, NULL, __WALL);
                ptrace(PTRACE_DETACH, pid, 0, 0);
            } else last = errno;
        }
        printf("helpers=%d attached=%d errno=%d\n", found, attached, last);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "unshare-user") == 0) {
        printf("unshare=%d\n", unshare(CLONE_NEWUSER) == 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "keyctl") == 0) {
        long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
        printf("keyctl=%d\n", r >= 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "fsopen") == 0) {
        long r = syscall(SYS_fsopen, "tmpfs", 0);
        printf("fsopen=%d\n", r >= 0 ? 0 : -errno);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "listener") == 0) {
        struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        struct sock_fprog program = { .len = 1, .filter = allow };
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
        printf("listener=%d\n", r >= 0 ? 0 : -errno);
        return 0;
    }
    if (argc >= 6 && strcmp(argv[1], "as") == 0) {
        gid_t groups[32];
        int count = 0;
        if (strcmp(argv[4], "-") != 0)
            for (char *g = strtok(argv[4], ","); g && count < 32; g = strtok(NULL, ",")) groups[count++] = atoi(g);
        if (setgroups(count, groups) != 0 || setresgid(atoi(argv[3]), atoi(argv[3]), atoi(argv[3])) != 0
            || setresuid(atoi(argv[2]), atoi(argv[2]), atoi(argv[2])) != 0) { perror("probe as"); return 126; }
        execv(argv[5], argv + 5);
        perror("probe as: exec");
        return 127;
    }
    if (argc >= 3 && strcmp(argv[1], "userns") == 0) {
        char map[64];
        unsigned uid = geteuid(), gid = getegid();
        if (unshare(CLONE_NEWUSER) != 0) { perror("probe userns: unshare"); return 126; }
        int fd = open("/proc/self/setgroups", O_WRONLY);
        if (fd < 0 || write(fd, "deny", 4) != 4) { perror("probe userns: setgroups"); return 126; }
        close(fd);
        const char *files[2] = { "/proc/self/uid_map", "/proc/self/gid_map" };
        // Mapping 0 needs CAP_SETFCAP at unshare time (Linux 5.12+); without it the ids stay unmapped,
        // and the process still holds every capability in its new namespace.
        for (int i = 0; i < 2; i++) {
            int n = snprintf(map, sizeof map, "0 %u 1", i == 0 ? uid : gid);
            fd = open(files[i], O_WRONLY);
            if (fd >= 0 && write(fd, map, n) != n) fprintf(stderr, "probe userns: %s: %s (ids stay unmapped)\n", files[i], strerror(errno));
            if (fd >= 0) close(fd);
        }
        execv(argv[2], argv + 2);
        perror("probe userns: exec");
        return 127;
    }
    fprintf(stderr, "usage: see the comment at the top of supervise-probe.c\n");
    return 2;
}
