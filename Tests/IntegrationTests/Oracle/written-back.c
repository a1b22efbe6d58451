/* Calls whose arguments the kernel fills or reads as arrays, and what strace prints with their
 * results: group lists, mincore's page vector, the mask rt_sigreturn restores, the time select,
 * pselect6 and ppoll leave. RecorderWideOracleTests runs it under strace in a recorded cgroup and
 * wants every line between the markers whole. Built statically by the test. */
#define _GNU_SOURCE
#include <unistd.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
static void h(int s) { (void)s; }
static void mark(const char *t) { (void)!write(-1, t, strlen(t)); }
int main(void) {
    sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, 0); /* a runner may pass signals blocked */
    mark("SONDE-WIDE-BEGIN");
    gid_t many[40]; for (int i = 0; i < 40; i++) many[i] = 100 + i;
    setgroups(3, (gid_t[]){1, 2, 3});
    gid_t g[64]; getgroups(64, g); getgroups(1, g); getgroups(0, NULL);
    setgroups(40, many); getgroups(64, g);
    setgroups(-1, many); setgroups(0, NULL);
    void *m = mmap(0, 40 * 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    ((char*)m)[4096] = 1;
    unsigned char vec[64]; mincore(m, 40 * 4096, vec); mincore(m, 0, vec); mincore((char*)m + 1, 4096, vec);
    mincore(m, 3 * 4096, vec);
    signal(SIGUSR1, h); raise(SIGUSR1);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR2); sigaddset(&s, SIGTERM); sigprocmask(SIG_BLOCK, &s, 0);
    raise(SIGUSR1);
    fd_set w; FD_ZERO(&w); FD_SET(1, &w);
    struct timeval tv = {1, 0};
    syscall(SYS_select, 2, NULL, &w, NULL, &tv);
    FD_ZERO(&w); FD_SET(1, &w);
    struct timespec ts = {2, 500};
    syscall(SYS_pselect6, 2, NULL, &w, NULL, &ts, NULL);
    struct pollfd f = {1, POLLOUT, 0};
    ts.tv_sec = 3; ts.tv_nsec = 0;
    ppoll(&f, 1, &ts, NULL);
    int p[2]; (void)!pipe(p);
    FD_ZERO(&w); FD_SET(p[0], &w);
    tv.tv_sec = 0; tv.tv_usec = 1000;
    syscall(SYS_select, p[0] + 1, &w, NULL, NULL, &tv);
    struct pollfd q = {p[0], POLLIN, 0};
    ts.tv_sec = 0; ts.tv_nsec = 1000;
    ppoll(&q, 1, &ts, NULL);
    mark("SONDE-WIDE-END");
    return 0;
}
