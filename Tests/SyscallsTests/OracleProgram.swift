/// The C program of the strace oracle test. It makes each call with `syscall(2)` and logs, per call,
/// what sonde's recorder would have seen: number, six registers, return value, and the captured
/// memory (`arg:flags:hex`, flags `t` truncated). The log is written to argv[1] at the end, so that
/// its own syscalls come after every logged call but exit_group.
let oracleProgram = #"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <linux/futex.h>
#include <linux/netlink.h>
#include <linux/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/personality.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static char logbuf[1 << 20];
static size_t loglen;

static void out(const char *s) { size_t n = strlen(s); memcpy(logbuf + loglen, s, n); loglen += n; }
static void outx(uint64_t v) { char b[32]; int n = 0; char t[32]; do { t[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v); for (int i = 0; i < n; i++) b[i] = t[n - 1 - i]; b[n] = 0; out(b); }
static void outbytes(int arg, const void *p, long n, int truncated) {
    out(" "); outx(arg); out(truncated ? ":t:" : "::");
    const unsigned char *c = p;
    for (long i = 0; i < n; i++) { logbuf[loglen++] = "0123456789abcdef"[c[i] >> 4]; logbuf[loglen++] = "0123456789abcdef"[c[i] & 15]; }
}

enum kind { NONE, STR, IN, OUTR, OUT, OUTLEN, ARGV };
struct cap { int arg; enum kind kind; long n; const void *lenp; };
#define MAXCAP 4

static long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5, struct cap *caps, int ncaps) {
    long a[6] = {a0, a1, a2, a3, a4, a5};
    char entry[MAXCAP][4096]; long entrylen[MAXCAP]; int trunc[MAXCAP];
    for (int i = 0; i < ncaps; i++) {
        const void *p = (const void *)a[caps[i].arg];
        entrylen[i] = -1; trunc[i] = 0;
        if (!p) continue;
        if (caps[i].kind == STR) { entrylen[i] = strlen(p); memcpy(entry[i], p, entrylen[i]); }
        if (caps[i].kind == IN) { long n = caps[i].n < 0 ? a[-caps[i].n - 1] : caps[i].n; if (n > 4096) { n = 4096; trunc[i] = 1; } entrylen[i] = n; memcpy(entry[i], p, n); }
        if (caps[i].kind == ARGV) {
            long n = 0; char *const *v = p;
            for (; *v; v++) { long k = strlen(*v); memcpy(entry[i] + n, *v, k + 1); n += k + 1; }
            entrylen[i] = n;
        }
    }
    long r = syscall(nr, a0, a1, a2, a3, a4, a5);
    if (r == -1) r = -errno;
    out("call "); outx(nr);
    for (int i = 0; i < 6; i++) { out(" "); outx(a[i]); }
    out(" "); if (r < 0) { out("-"); outx(-r); } else outx(r);
    for (int i = 0; i < ncaps; i++) {
        const void *p = (const void *)a[caps[i].arg];
        if (entrylen[i] >= 0) outbytes(caps[i].arg, entry[i], entrylen[i], trunc[i]);
        if (!p || r < 0) continue;
        if (caps[i].kind == OUTR) outbytes(caps[i].arg, p, r < caps[i].n ? r : caps[i].n, 0);
        if (caps[i].kind == OUT) outbytes(caps[i].arg, p, caps[i].n, 0);
        if (caps[i].kind == OUTLEN) outbytes(caps[i].arg, p, *(const socklen_t *)caps[i].lenp, 0);
    }
    out("\n");
    return r;
}

#define C(...) (struct cap[]){__VA_ARGS__}, sizeof((struct cap[]){__VA_ARGS__}) / sizeof(struct cap)
#define NOCAP NULL, 0

int main(int argc, char **argv) {
    static char buf[8192];
    static char dir[256];
    strcpy(dir, argv[2]);
    char path[300], path2[300];
    syscall(SYS_close, -12345); /* the marker */

    int fd = call(SYS_openat, AT_FDCWD, (long)"/etc/passwd", O_RDONLY | O_CLOEXEC, 0, 0, 0, C({1, STR}));
    call(SYS_read, fd, (long)buf, 16, 0, 0, 0, C({1, OUTR, 16}));
    call(SYS_read, fd, (long)buf, 300, 0, 0, 0, C({1, OUTR, 300}));
    call(SYS_pread64, fd, (long)buf, 10, 3, 0, 0, C({1, OUTR, 10}));
    call(SYS_lseek, fd, 0, SEEK_END, 0, 0, 0, NOCAP);
    call(SYS_lseek, fd, -5, SEEK_CUR, 0, 0, 0, NOCAP);
    struct stat st;
    call(SYS_fstat, fd, (long)&st, 0, 0, 0, 0, C({1, OUT, sizeof st}));
    call(SYS_newfstatat, fd, (long)"", (long)&st, AT_EMPTY_PATH, 0, 0, C({1, STR}, {2, OUT, sizeof st}));
    call(SYS_newfstatat, AT_FDCWD, (long)"/dev/null", (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0, C({1, STR}, {2, OUT, sizeof st}));
    call(SYS_stat, (long)"/", (long)&st, 0, 0, 0, 0, C({0, STR}, {1, OUT, sizeof st}));
    call(SYS_lstat, (long)"/nonexistent/file", (long)&st, 0, 0, 0, 0, C({0, STR}, {1, OUT, sizeof st}));
    struct statx stx;
    call(SYS_statx, AT_FDCWD, (long)"/etc/passwd", AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, (long)&stx, 0, C({1, STR}, {4, OUT, sizeof stx}));
    call(SYS_close, fd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_close, fd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_open, (long)"/nonexistent", O_RDONLY, 0, 0, 0, 0, C({0, STR}));
    call(SYS_access, (long)"/etc/passwd", R_OK | W_OK, 0, 0, 0, 0, C({0, STR}));
    call(SYS_access, (long)"/etc/shadow", F_OK, 0, 0, 0, 0, C({0, STR}));
    call(SYS_faccessat2, AT_FDCWD, (long)"/etc/passwd", X_OK, AT_EACCESS, 0, 0, C({1, STR}));
    strcpy(path, dir); strcat(path, "/file");
    int wfd = call(SYS_openat, AT_FDCWD, (long)path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640, 0, 0, C({1, STR}));
    call(SYS_write, wfd, (long)"hello, world\n", 13, 0, 0, 0, C({1, IN, -3}));
    call(SYS_write, wfd, (long)"\x01\x02\x00" "3abc\t\n\r\v\f\\\"'\x7f\x80\xff", 18, 0, 0, 0, C({1, IN, -3}));
    memset(buf, 'x', 100);
    call(SYS_write, wfd, (long)buf, 100, 0, 0, 0, C({1, IN, -3}));
    call(SYS_pwrite64, wfd, (long)"abc", 3, 1000, 0, 0, C({1, IN, -3}));
    call(SYS_write, -1, 0, 5, 0, 0, 0, C({1, IN, -3}));
    call(SYS_fsync, wfd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_ftruncate, wfd, 10, 0, 0, 0, 0, NOCAP);
    call(SYS_fchmod, wfd, 0600, 0, 0, 0, 0, NOCAP);
    call(SYS_chmod, (long)path, 04755, 0, 0, 0, 0, C({0, STR}));
    call(SYS_fchown, wfd, 0, -1, 0, 0, 0, NOCAP);
    call(SYS_fcntl, wfd, F_GETFL, 0, 0, 0, 0, NOCAP);
    call(SYS_fcntl, wfd, F_GETFD, 0, 0, 0, 0, NOCAP);
    call(SYS_fcntl, wfd, F_SETFD, FD_CLOEXEC, 0, 0, 0, NOCAP);
    call(SYS_fcntl, wfd, F_SETFL, O_NONBLOCK | O_APPEND, 0, 0, 0, NOCAP);
    call(SYS_fcntl, wfd, F_DUPFD_CLOEXEC, 20, 0, 0, 0, NOCAP);
    struct flock fl = {F_WRLCK, SEEK_SET, 0, 0};
    call(SYS_fcntl, wfd, F_SETLK, (long)&fl, 0, 0, 0, C({2, IN, sizeof fl}));
    call(SYS_flock, wfd, LOCK_EX | LOCK_NB, 0, 0, 0, 0, NOCAP);
    call(SYS_dup, wfd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_dup2, wfd, 30, 0, 0, 0, 0, NOCAP);
    call(SYS_dup3, wfd, 31, O_CLOEXEC, 0, 0, 0, NOCAP);
    call(SYS_ioctl, wfd, TCGETS, (long)buf, 0, 0, 0, C({2, IN, 4}));
    int one = 1;
    call(SYS_ioctl, wfd, FIONBIO, (long)&one, 0, 0, 0, C({2, IN, 4}));
    call(SYS_ioctl, wfd, FIOCLEX, 0, 0, 0, 0, C({2, IN, 4}));
    call(SYS_fallocate, wfd, FALLOC_FL_KEEP_SIZE, 0, 4096, 0, 0, NOCAP);
    call(SYS_fadvise64, wfd, 0, 0, POSIX_FADV_SEQUENTIAL, 0, 0, NOCAP);
    call(SYS_close, wfd, 0, 0, 0, 0, 0, NOCAP);
    strcpy(path2, dir); strcat(path2, "/renamed");
    call(SYS_rename, (long)path, (long)path2, 0, 0, 0, 0, C({0, STR}, {1, STR}));
    call(SYS_renameat2, AT_FDCWD, (long)path2, AT_FDCWD, (long)path, RENAME_NOREPLACE, 0, C({1, STR}, {3, STR}));
    call(SYS_symlink, (long)"target", (long)path2, 0, 0, 0, 0, C({0, STR}, {1, STR}));
    call(SYS_readlink, (long)path2, (long)buf, 100, 0, 0, 0, C({0, STR}, {1, OUTR, 100}));
    call(SYS_unlink, (long)path2, 0, 0, 0, 0, 0, C({0, STR}));
    call(SYS_link, (long)path, (long)path2, 0, 0, 0, 0, C({0, STR}, {1, STR}));
    call(SYS_unlinkat, AT_FDCWD, (long)path2, 0, 0, 0, 0, C({1, STR}));
    struct timespec times[2] = {{0, UTIME_NOW}, {1700000000, 0}};
    call(SYS_utimensat, AT_FDCWD, (long)path, (long)times, AT_SYMLINK_NOFOLLOW, 0, 0, C({1, STR}, {2, IN, sizeof times}));
    call(SYS_truncate, (long)path, 0, 0, 0, 0, 0, C({0, STR}));
    call(SYS_unlink, (long)path, 0, 0, 0, 0, 0, C({0, STR}));
    strcpy(path, dir); strcat(path, "/sub");
    call(SYS_mkdir, (long)path, 0755, 0, 0, 0, 0, C({0, STR}));
    call(SYS_mkdirat, AT_FDCWD, (long)path, 0700, 0, 0, 0, C({1, STR}));
    int dfd = call(SYS_open, (long)path, O_RDONLY | O_DIRECTORY, 0, 0, 0, 0, C({0, STR}));
    call(SYS_fchdir, dfd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getcwd, (long)buf, 300, 0, 0, 0, 0, C({0, OUTR, 300}));
    call(SYS_chdir, (long)"/", 0, 0, 0, 0, 0, C({0, STR}));
    call(SYS_unlinkat, AT_FDCWD, (long)path, AT_REMOVEDIR, 0, 0, 0, C({1, STR}));
    call(SYS_umask, 022, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_umask, 022, 0, 0, 0, 0, 0, NOCAP);
    int p[2];
    call(SYS_pipe2, (long)p, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, C({0, OUT, sizeof p}));
    call(SYS_write, p[1], (long)"ping", 4, 0, 0, 0, C({1, IN, -3}));
    struct pollfd pfd[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    call(SYS_poll, (long)pfd, 2, 0, 0, 0, 0, C({0, OUT, sizeof pfd}));
    call(SYS_read, p[0], (long)buf, 4096, 0, 0, 0, C({1, OUTR, 4096}));
    call(SYS_read, p[0], (long)buf, 4096, 0, 0, 0, C({1, OUTR, 4096}));
    int ep = call(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0, NOCAP);
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = 0x100000007ULL}};
    call(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], (long)&ev, 0, 0, C({3, IN, 12}));
    call(SYS_write, p[1], (long)"x", 1, 0, 0, 0, C({1, IN, -3}));
    struct epoll_event evs[4];
    call(SYS_epoll_wait, ep, (long)evs, 4, 0, 0, 0, C({1, OUT, 12}));
    call(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[0], 0, 0, 0, C({3, IN, 12}));
    call(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0, NOCAP);
    call(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC, 0, 0, 0, 0, NOCAP);
    call(SYS_inotify_init1, IN_CLOEXEC, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_memfd_create, (long)"sonde-oracle", MFD_CLOEXEC | MFD_ALLOW_SEALING, 0, 0, 0, 0, C({0, STR}));

    void *m = (void *)call(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, NOCAP);
    call(SYS_mprotect, (long)m, 4096, PROT_READ, 0, 0, 0, NOCAP);
    call(SYS_madvise, (long)m, 8192, MADV_DONTNEED, 0, 0, 0, NOCAP);
    call(SYS_munmap, (long)m, 8192, 0, 0, 0, 0, NOCAP);
    call(SYS_mmap, 0x1000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, -1, 0, NOCAP);
    call(SYS_brk, 0, 0, 0, 0, 0, 0, NOCAP);

    unsigned long sa[4] = {(unsigned long)SIG_IGN, 0x04000000 | SA_RESTART, 0x1234, (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1))};
    unsigned long old[4];
    call(SYS_rt_sigaction, SIGUSR1, (long)sa, (long)old, 8, 0, 0, C({1, IN, sizeof sa}, {2, OUT, sizeof old}));
    call(SYS_rt_sigaction, SIGUSR1, 0, (long)old, 8, 0, 0, C({1, IN, sizeof sa}, {2, OUT, sizeof old}));
    unsigned long set = (1UL << (SIGCHLD - 1)) | (1UL << 33), oset;
    call(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, (long)&oset, 8, 0, 0, C({1, IN, 8}, {2, OUT, 8}));
    set = ~0UL;
    call(SYS_rt_sigprocmask, SIG_SETMASK, (long)&oset, (long)&set, 8, 0, 0, C({1, IN, 8}, {2, OUT, 8}));
    stack_t ss;
    call(SYS_sigaltstack, 0, (long)&ss, 0, 0, 0, 0, C({0, IN, 24}, {1, OUT, 24}));
    call(SYS_kill, call(SYS_getpid, 0, 0, 0, 0, 0, 0, NOCAP), 0, 0, 0, 0, 0, NOCAP);
    call(SYS_kill, 999999, SIGTERM, 0, 0, 0, 0, NOCAP);
    call(SYS_tgkill, 999999, 999999, SIGRTMIN + 2, 0, 0, 0, NOCAP);

    struct timespec ts = {0, 1000};
    call(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0, C({0, IN, 16}, {1, OUT, 16}));
    call(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, (long)&ts, 0, 0, C({2, IN, 16}, {3, OUT, 16}));
    call(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0, 0, 0, C({1, OUT, 16}));
    call(SYS_clock_getres, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0, C({1, OUT, 16}));
    struct timeval tv;
    call(SYS_gettimeofday, (long)&tv, 0, 0, 0, 0, 0, C({0, OUT, 16}));
    call(SYS_getpid, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_gettid, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getuid, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getppid, 0, 0, 0, 0, 0, 0, NOCAP);
    struct rlimit rl;
    call(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl, 0, 0, C({2, IN, 16}, {3, OUT, 16}));
    call(SYS_getrlimit, RLIMIT_STACK, (long)&rl, 0, 0, 0, 0, C({1, OUT, 16}));
    rl.rlim_cur = 8 << 20; rl.rlim_max = RLIM_INFINITY;
    call(SYS_prlimit64, 0, RLIMIT_STACK, (long)&rl, 0, 0, 0, C({2, IN, 16}, {3, OUT, 16}));
    struct utsname u;
    call(SYS_uname, (long)&u, 0, 0, 0, 0, 0, C({0, OUT, 130}));
    call(SYS_sched_getaffinity, 0, 128, (long)buf, 0, 0, 0, C({2, OUTR, 128}));
    call(SYS_getrandom, (long)buf, 8, GRND_NONBLOCK, 0, 0, 0, C({0, OUTR, 8}));
    call(SYS_prctl, PR_SET_NAME, (long)"oracle", 0, 0, 0, 0, C({1, STR}));
    call(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0, C({1, STR}));
    call(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0, NOCAP);
    int futexword = 0;
    call(SYS_futex, (long)&futexword, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0, C({3, IN, 16}));
    call(SYS_set_robust_list, 0x1234, 24, 0, 0, 0, 0, NOCAP);
    call(SYS_unshare, 0, 0, 0, 0, 0, 0, NOCAP);
    int status;
    call(SYS_wait4, -1, (long)&status, WNOHANG, 0, 0, 0, C({1, OUT, 4}));

    int s = call(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0, NOCAP);
    struct sockaddr_in sin = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}};
    call(SYS_bind, s, (long)&sin, sizeof sin, 0, 0, 0, C({1, IN, -3}));
    call(SYS_listen, s, 16, 0, 0, 0, 0, NOCAP);
    socklen_t len = sizeof sin;
    call(SYS_getsockname, s, (long)&sin, (long)&len, 0, 0, 0, C({1, OUTLEN, 0, &len}, {2, IN, 4}));
    struct sockaddr_storage ss2; socklen_t len2 = sizeof ss2;
    call(SYS_getsockname, s, (long)&ss2, (long)&len2, 0, 0, 0, C({1, OUTLEN, 0, &len2}, {2, IN, 4}));
    int c = call(SYS_socket, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, 0, 0, NOCAP);
    call(SYS_setsockopt, c, SOL_SOCKET, SO_REUSEADDR, (long)&one, 4, 0, C({3, IN, -5}));
    call(SYS_setsockopt, c, IPPROTO_TCP, TCP_NODELAY, (long)&one, 4, 0, C({3, IN, -5}));
    call(SYS_connect, c, (long)&sin, sizeof sin, 0, 0, 0, C({1, IN, -3}));
    len2 = sizeof ss2;
    int a = call(SYS_accept4, s, (long)&ss2, (long)&len2, SOCK_CLOEXEC, 0, 0, C({1, OUTLEN, 0, &len2}, {2, IN, 4}));
    int v; socklen_t vl = 4;
    call(SYS_getsockopt, c, SOL_SOCKET, SO_ERROR, (long)&v, (long)&vl, 0, C({3, OUT, 4}, {4, IN, 4}));
    call(SYS_sendto, c, (long)"request\n", 8, MSG_NOSIGNAL, 0, 0, C({1, IN, -3}));
    call(SYS_recvfrom, a, (long)buf, 100, MSG_DONTWAIT, 0, 0, C({1, OUTR, 100}));
    call(SYS_recvfrom, a, (long)buf, 100, MSG_DONTWAIT, 0, 0, C({1, OUTR, 100}));
    call(SYS_shutdown, a, SHUT_WR, 0, 0, 0, 0, NOCAP);
    struct sockaddr_in dead = {AF_INET, htons(1), {htonl(INADDR_LOOPBACK)}};
    int c2 = call(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0, NOCAP);
    call(SYS_connect, c2, (long)&dead, sizeof dead, 0, 0, 0, C({1, IN, -3}));
    int u6 = call(SYS_socket, AF_INET6, SOCK_DGRAM, IPPROTO_UDP, 0, 0, 0, NOCAP);
    struct sockaddr_in6 sin6 = {AF_INET6, htons(53)}; inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    call(SYS_sendto, u6, (long)"q", 1, 0, (long)&sin6, sizeof sin6, C({1, IN, -3}, {4, IN, -6}));
    int un = call(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, 0, 0, 0, NOCAP);
    struct sockaddr_un sun = {AF_UNIX, "/nonexistent/sonde.sock"};
    call(SYS_connect, un, (long)&sun, sizeof sun, 0, 0, 0, C({1, IN, -3}));
    struct sockaddr_un abs = {AF_UNIX, "\0sonde-abstract"};
    call(SYS_connect, un, (long)&abs, 2 + 15, 0, 0, 0, C({1, IN, -3}));
    call(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET, 0, (long)p, 0, 0, C({3, OUT, 8}));
    call(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE, 0, 0, 0, NOCAP);

    /* More families. */
    call(SYS_sched_yield, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getpgrp, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getsid, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_geteuid, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getegid, 0, 0, 0, 0, 0, 0, NOCAP);
    unsigned int ids[3];
    call(SYS_getresgid, (long)&ids[0], (long)&ids[1], (long)&ids[2], 0, 0, 0, C({0, OUT, 4}, {1, OUT, 4}, {2, OUT, 4}));
    call(SYS_alarm, 0, 0, 0, 0, 0, 0, NOCAP);
    struct { long u, s, cu, cs; } tmsbuf;
    call(SYS_times, (long)&tmsbuf, 0, 0, 0, 0, 0, C({0, OUT, 32}));
    call(SYS_time, 0, 0, 0, 0, 0, 0, C({0, OUT, 8}));
    long now;
    call(SYS_time, (long)&now, 0, 0, 0, 0, 0, C({0, OUT, 8}));
    call(SYS_personality, 0xffffffff, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_sched_getscheduler, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_getpriority, PRIO_PROCESS, 0, 0, 0, 0, 0, NOCAP);
    unsigned long pending;
    call(SYS_rt_sigpending, (long)&pending, 8, 0, 0, 0, 0, C({0, OUT, 8}));
    unsigned long fsbase;
    call(SYS_arch_prctl, 0x1003, (long)&fsbase, 0, 0, 0, 0, C({1, OUT, 8}));
    call(SYS_arch_prctl, 0x3001, 0, 0, 0, 0, 0, C({1, OUT, 8}));
    call(SYS_membarrier, 0, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_pidfd_open, call(SYS_getpid, 0, 0, 0, 0, 0, 0, NOCAP), 0, 0, 0, 0, 0, NOCAP);
    struct itimerspec its = {{1, 0}, {0, 500000}}, oits;
    int tfd = call(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_NONBLOCK, 0, 0, 0, 0, NOCAP);
    call(SYS_timerfd_settime, tfd, 0, (long)&its, (long)&oits, 0, 0, C({2, IN, 32}, {3, OUT, 32}));
    call(SYS_timerfd_gettime, tfd, (long)&oits, 0, 0, 0, 0, C({1, OUT, 32}));
    unsigned long sfdmask = 1UL << (SIGUSR2 - 1);
    call(SYS_signalfd4, -1, (long)&sfdmask, 8, SFD_CLOEXEC | SFD_NONBLOCK, 0, 0, C({1, IN, 8}));
    int ino = call(SYS_inotify_init1, IN_NONBLOCK, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_inotify_add_watch, ino, (long)dir, IN_CREATE | IN_DELETE | IN_MOVED_TO, 0, 0, 0, C({1, STR}));
    call(SYS_inotify_rm_watch, ino, 1, 0, 0, 0, 0, NOCAP);
    strcpy(path, dir); strcat(path, "/fifo");
    call(SYS_mknodat, AT_FDCWD, (long)path, S_IFIFO | 0640, 0, 0, 0, C({1, STR}));
    call(SYS_faccessat, AT_FDCWD, (long)path, R_OK, 0, 0, 0, C({1, STR}));
    call(SYS_fchmodat, AT_FDCWD, (long)path, 0600, 0, 0, 0, C({1, STR}));
    call(SYS_fchownat, AT_FDCWD, (long)path, 0, 0, AT_SYMLINK_NOFOLLOW, 0, C({1, STR}));
    call(SYS_lchown, (long)path, 0, 0, 0, 0, 0, C({0, STR}));
    call(SYS_utimensat, AT_FDCWD, (long)path, 0, 0, 0, 0, C({1, STR}, {2, IN, 32}));
    strcpy(path2, dir); strcat(path2, "/link");
    call(SYS_symlinkat, (long)"fifo", AT_FDCWD, (long)path2, 0, 0, 0, C({0, STR}, {2, STR}));
    call(SYS_readlinkat, AT_FDCWD, (long)path2, (long)buf, 3, 0, 0, C({1, STR}, {2, OUTR, 3}));
    call(SYS_renameat, AT_FDCWD, (long)path2, AT_FDCWD, (long)path2, 0, 0, C({1, STR}, {3, STR}));
    call(SYS_unlink, (long)path2, 0, 0, 0, 0, 0, C({0, STR}));
    call(SYS_unlink, (long)path, 0, 0, 0, 0, 0, C({0, STR}));
    strcpy(path, dir); strcat(path, "/created");
    int cfd = call(SYS_creat, (long)path, 0644, 0, 0, 0, 0, C({0, STR}));
    call(SYS_fdatasync, cfd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_syncfs, cfd, 0, 0, 0, 0, 0, NOCAP);
    call(SYS_pwrite64, cfd, (long)"0123456789", 10, 0, 0, 0, C({1, IN, -3}));
    int rfd = call(SYS_open, (long)path, O_RDONLY, 0, 0, 0, 0, C({0, STR}));
    call(SYS_sendfile, cfd, rfd, 0, 4, 0, 0, NOCAP);
    call(SYS_copy_file_range, rfd, 0, cfd, 0, 4, 0, NOCAP);
    call(SYS_close_range, 100, 200, CLOSE_RANGE_CLOEXEC, 0, 0, 0, NOCAP);
    call(SYS_unlink, (long)path, 0, 0, 0, 0, 0, C({0, STR}));
    void *m2 = (void *)call(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0, NOCAP);
    call(SYS_mlock, (long)m2, 4096, 0, 0, 0, 0, NOCAP);
    call(SYS_munlock, (long)m2, 4096, 0, 0, 0, 0, NOCAP);
    call(SYS_msync, (long)m2, 4096, MS_ASYNC, 0, 0, 0, NOCAP);
    call(SYS_mremap, (long)m2, 4096, 8192, MREMAP_MAYMOVE, 0, 0, NOCAP);
    call(SYS_getrandom, (long)buf, 40, 0, 0, 0, 0, C({0, OUTR, 40}));
    call(SYS_read, -1, (long)buf, 1, 0, 0, 0, C({1, OUTR, 1}));
    call(SYS_pread64, 0x7fffffff, (long)buf, 1, 0, 0, 0, C({1, OUTR, 1}));
    call(SYS_socket, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP, 0, 0, 0, NOCAP);
    call(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0, NOCAP);
    call(SYS_bind, -1, (long)&sin6, sizeof sin6, 0, 0, 0, C({1, IN, -3}));
    call(SYS_getpeername, s, (long)&ss2, (long)&len2, 0, 0, 0, C({1, OUTLEN, 0, &len2}, {2, IN, 4}));
    call(SYS_sendto, c, (long)"0123456789012345678901234567890123456789", 40, 0, 0, 0, C({1, IN, -3}));
    call(SYS_recvfrom, a, (long)buf, 64, 0, (long)&ss2, (long)&len2, C({1, OUTR, 64}, {4, OUTLEN, 0, &len2}, {5, IN, 4}));

    char *args[] = {"/nonexistent/prog", "-l", "an argument longer than thirty-two bytes", "\t", NULL};
    char *env[] = {"A=1", "B=2", NULL};
    call(SYS_execve, (long)"/nonexistent/prog", (long)args, (long)env, 0, 0, 0, C({0, STR}, {1, ARGV}));
    call(SYS_execve, (long)"/nonexistent/prog", (long)args, 0, 0, 0, 0, C({0, STR}, {1, ARGV}));

    int logfd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    out("exit e7 3\n");
    write(logfd, logbuf, loglen);
    close(logfd);
    syscall(SYS_exit_group, 3);
    return 0;
}
"""#
