/* Signals and exits for the recorder to explain as strace does (RecorderSignalTests).
 *   signals usr1   a child sends SIGUSR1 to its parent, which handles it, lets the child end,
 *                  reaps it (SIGCHLD) and exits with 3
 *   signals term   the parent kills a waiting child with SIGTERM (no handler: the kernel turns it
 *                  into a group exit at once) and exits with 0
 *   signals segv   writes through a NULL pointer two calls deep: SIGSEGV, killed
 * Built static with frame pointers so the recorder's stack names every frame. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) { got = sig; }

/* noinline: each one is a frame of its own in the stack the test checks. */
__attribute__((noinline)) void crash_here(int *p) { *p = 42; }

__attribute__((noinline)) void level_one(int *p) { crash_here(p); write(1, "", 0); }

static int usr1(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    int taken[2];
    if (pipe(taken) < 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        /* Exits (SIGCHLD) only once the parent has taken SIGUSR1: one order, whatever the timing. */
        char c;
        close(taken[1]);
        kill(getppid(), SIGUSR1);
        read(taken[0], &c, 1);
        _exit(0);
    }
    close(taken[0]);
    while (!got)
        sigsuspend(&old);
    write(taken[1], "t", 1);
    waitpid(child, NULL, 0);
    return 3;
}

static int term(void)
{
    int ready[2];
    if (pipe(ready) < 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    char c;
    read(ready[0], &c, 1); /* the child runs: it has no handler for SIGTERM */
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* Whatever the caller left blocked or ignored (a test runner's threads block signals), the
     * program starts from the defaults it relies on. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (argc > 1 && strcmp(argv[1], "usr1") == 0)
        return usr1();
    if (argc > 1 && strcmp(argv[1], "term") == 0)
        return term();
    if (argc > 1 && strcmp(argv[1], "segv") == 0) {
        level_one(NULL);
        return 0;
    }
    fprintf(stderr, "usage: signals usr1|term|segv\n");
    return 2;
}
