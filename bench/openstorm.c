/* A storm of open(2) calls for the event-rate benchmark (Sources/sonde-bench/EventRateBench.swift).
 *
 * Built statically so it runs inside a busybox container:
 *     gcc -O2 -static -o openstorm bench/openstorm.c
 *
 * Usage: openstorm RATE SECONDS
 *
 * Prints "ready", waits for one command byte on stdin (so a tracer can attach to the running
 * container first):
 *     'p'  one open of "/storm-probe", then "ready" again: an event that proves the tracer is on
 *     'g'  the storm: for SECONDS calls openat(AT_FDCWD, "/storm-missing", O_RDONLY|O_CLOEXEC) as fast
 *          as it can (RATE 0) or at RATE calls per second, then print
 *              opens CALLS NANOSECONDS
 *     'q'  or end of file: exit
 * The path does not exist: each call is one syscall and one traced event (no close to trace
 * around it). Pacing reads the clock through the vDSO, which makes no syscall, and sleeps until
 * the next chunk of 64 calls is due (0.64 ms at 100,000 calls/s): the offered rate is smooth at
 * the scale of the tracer's buffers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: openstorm RATE SECONDS\n");
        return 2;
    }
    long long rate = atoll(argv[1]);
    long long seconds = atoll(argv[2]);
    if (rate < 0 || seconds <= 0) {
        fprintf(stderr, "openstorm: RATE must be >= 0 and SECONDS > 0\n");
        return 2;
    }
    char command;
    for (;;) {
        if (write(STDOUT_FILENO, "ready\n", 6) != 6)
            return 1;
        if (read(STDIN_FILENO, &command, 1) != 1 || command == 'q')
            return 0;
        if (command == 'g')
            break;
        if (command == 'p') {
            int fd = openat(AT_FDCWD, "/storm-probe", O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                close(fd);
        }
    }

    long long start = now_ns();
    long long end = start + seconds * 1000000000LL;
    long long calls = 0;
    for (;;) {
        /* Chunks of 64 calls between clock reads keep the pacing cheap and still fine-grained. */
        for (int i = 0; i < 64; i++) {
            int fd = openat(AT_FDCWD, "/storm-missing", O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                close(fd);
        }
        calls += 64;
        long long t = now_ns();
        if (t >= end)
            break;
        if (rate > 0) {
            long long due = start + calls * 1000000000LL / rate; /* when this many calls are due */
            if (due > t) {
                struct timespec pause = { (due - t) / 1000000000LL, (due - t) % 1000000000LL };
                nanosleep(&pause, NULL);
            }
        }
    }
    char line[96];
    int n = snprintf(line, sizeof(line), "opens %lld %lld\n", calls, now_ns() - start);
    return write(STDOUT_FILENO, line, n) == n ? 0 : 1;
}
