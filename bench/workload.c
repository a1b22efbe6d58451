/* Syscall-heavy loops for the sonde benchmark harness (Sources/sonde-bench).
 *
 * Built statically so it runs inside a busybox container:
 *     gcc -O2 -static -o workload bench/workload.c
 *
 * Usage: workload [--wait] GETPPID_CALLS READ_CALLS
 *
 * Runs GETPPID_CALLS getppid() calls, then READ_CALLS 1-byte read()s from /dev/zero, each after a
 * short warm-up. The timed calls run in CHUNKS equal chunks, each timed on its own, so a burst of
 * noise on the shared machine (another process, a preempted vCPU) spoils one chunk, not the
 * result. One line per loop:
 *     getppid CALLS MEDIAN_NS_PER_CALL MIN_NS_PER_CALL CPUS
 *     read CALLS MEDIAN_NS_PER_CALL MIN_NS_PER_CALL CPUS
 * (median and minimum over the chunks; CPUS lists the CPUs the loop was seen on at the end of its
 * chunks, e.g. "1" or "0+1", as some tracers cost more on one CPU than on another). A loop with 0
 * calls is skipped.
 *
 * With --wait it first prints "ready" and reads one command byte from stdin, so the harness can
 * attach a tracer to a process that already runs (in its container) before any timed call:
 *     'g'  run the loops
 *     'x'  execve itself again with the same arguments (prints "ready" again): a probe the exec
 *          gadget must report, which proves it is attached and selects this container
 *     'q'  or end of file: exit without running
 * Output goes through write(2), unbuffered, so each line leaves before the next command is read. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void say(const char *text)
{
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t n = write(STDOUT_FILENO, text, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exit(3);
        text += n;
        left -= (size_t)n;
    }
}

static void fail(const char *what)
{
    char line[256];
    snprintf(line, sizeof(line), "error %s: %s\n", what, strerror(errno));
    say(line);
    exit(2);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The warm-up is a tenth of the timed calls, at least one and at most 100,000. */
static long warmup_for(long calls)
{
    long w = calls / 10;
    if (w < 1)
        w = 1;
    if (w > 100000)
        w = 100000;
    return w;
}

#define CHUNKS 10

/* Timings of the chunks of one loop. */
struct chunks {
    int count;
    long calls;
    double ns_per_call[CHUNKS];
    unsigned long cpus; /* bit i: seen on CPU i (CPUs 0..63) */
};

/* Notes the CPU this chunk ended on (outside the timed part). */
static void note_cpu(struct chunks *c)
{
    int cpu = sched_getcpu();
    if (cpu >= 0 && cpu < 64)
        c->cpus |= 1UL << cpu;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, struct chunks *c)
{
    qsort(c->ns_per_call, (size_t)c->count, sizeof(double), compare_doubles);
    double median = c->count % 2 ? c->ns_per_call[c->count / 2]
                                 : (c->ns_per_call[c->count / 2 - 1] + c->ns_per_call[c->count / 2]) / 2;
    char cpus[256] = "";
    size_t used = 0;
    for (int i = 0; i < 64 && used < sizeof(cpus) - 8; i++)
        if (c->cpus & (1UL << i))
            used += (size_t)snprintf(cpus + used, sizeof(cpus) - used, used ? "+%d" : "%d", i);
    if (used == 0)
        snprintf(cpus, sizeof(cpus), "?");
    char line[400];
    snprintf(line, sizeof(line), "%s %ld %.2f %.2f %s\n", name, c->calls, median, c->ns_per_call[0], cpus);
    say(line);
}

/* Splits `calls` into chunks (fewer when there are fewer calls than chunks). */
static struct chunks plan(long calls)
{
    struct chunks c = { .count = calls < CHUNKS ? (int)calls : CHUNKS, .calls = calls };
    return c;
}

static long chunk_calls(const struct chunks *c, int index)
{
    long base = c->calls / c->count;
    return index == c->count - 1 ? c->calls - base * (c->count - 1) : base;
}

static void getppid_loop(long calls)
{
    if (calls <= 0)
        return;
    /* glibc does not cache getppid: every call enters the kernel. */
    for (long i = warmup_for(calls); i > 0; i--)
        (void)getppid();
    struct chunks c = plan(calls);
    for (int k = 0; k < c.count; k++) {
        long n = chunk_calls(&c, k);
        long long start = now_ns();
        for (long i = n; i > 0; i--)
            (void)getppid();
        c.ns_per_call[k] = (double)(now_ns() - start) / (double)n;
        note_cpu(&c);
    }
    report("getppid", &c);
}

static void read_loop(long calls)
{
    if (calls <= 0)
        return;
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open /dev/zero");
    char byte;
    for (long i = warmup_for(calls); i > 0; i--)
        if (read(fd, &byte, 1) != 1)
            fail("read");
    struct chunks c = plan(calls);
    for (int k = 0; k < c.count; k++) {
        long n = chunk_calls(&c, k);
        long long start = now_ns();
        for (long i = n; i > 0; i--)
            if (read(fd, &byte, 1) != 1)
                fail("read");
        c.ns_per_call[k] = (double)(now_ns() - start) / (double)n;
        note_cpu(&c);
    }
    report("read", &c);
    close(fd);
}

/* One command byte from stdin; 'q' on end of file or error. */
static char command(void)
{
    char c;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 1) {
            if (c == '\n' || c == ' ')
                continue;
            return c;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return 'q';
    }
}

static long parse_count(const char *text)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < 0) {
        say("error usage: counts must be non-negative integers\n");
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    int first = 1;
    int wait = 0;
    if (argc > 1 && strcmp(argv[1], "--wait") == 0) {
        wait = 1;
        first = 2;
    }
    if (argc - first != 2) {
        say("error usage: workload [--wait] GETPPID_CALLS READ_CALLS\n");
        return 2;
    }
    long getppid_calls = parse_count(argv[first]);
    long read_calls = parse_count(argv[first + 1]);

    while (wait) {
        say("ready\n");
        switch (command()) {
        case 'g':
            wait = 0;
            break;
        case 'x':
            execv("/proc/self/exe", argv);
            fail("execv");
            break;
        case 'q':
            return 0;
        default:
            say("error unknown command\n");
            return 2;
        }
    }
    getppid_loop(getppid_calls);
    read_loop(read_calls);
    return 0;
}
