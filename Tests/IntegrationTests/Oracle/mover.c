/* A process with two threads that moves itself into a cgroup (argv[1]: its cgroup.procs) while
 * its second thread is between syscalls, and then lets that thread make one more (argv[2]: a
 * marker path). The recorder must record that syscall: the cgroup_attach_task tracepoint names
 * the leader only, so the second thread's "not recorded" answer must go stale some other way. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int go[2], ready[2];
static const char *marker;

static void *worker(void *unused)
{
    char byte = 0;
    access("/sonde-mover-before-the-move", F_OK); /* remembered as not recorded */
    if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) != 1)
        return (void *)1;
    access(marker, F_OK); /* after the move: recorded */
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || pipe(go) || pipe(ready))
        return 2;
    marker = argv[2];
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL))
        return 3;
    char byte = 0, pid[32];
    if (read(ready[0], &byte, 1) != 1)
        return 4;
    int procs = open(argv[1], O_WRONLY);
    int n = snprintf(pid, sizeof(pid), "%d", getpid());
    if (procs < 0 || write(procs, pid, n) != n)
        return 5;
    close(procs);
    void *result;
    if (write(go[1], &byte, 1) != 1 || pthread_join(thread, &result) || result)
        return 6;
    return 0;
}
