/* A fixed sequence of syscalls for the recorder's correctness oracle: the test runs it under
 * strace on the host and inside a recorded container and compares the two between the markers
 * (writes to fd -1 that fail with EBADF and so leave no other trace).
 * Built statically by the test: gcc -O1 -static -o oracle oracle.c
 * Usage: oracle DIR  (DIR holds data.txt; the same path exists in both runs) */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/un.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

static void mark(const char *text) { (void)!write(-1, text, strlen(text)); }

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char path[512], missing[512], sub[512], link[512];
    snprintf(path, sizeof path, "%s/data.txt", argv[1]);
    snprintf(missing, sizeof missing, "%s/missing.txt", argv[1]);
    snprintf(sub, sizeof sub, "%s/sub", argv[1]);
    snprintf(link, sizeof link, "%s/link", argv[1]);
    char buf[256];

    mark("SONDE-ORACLE-BEGIN");
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    ssize_t n = read(fd, buf, sizeof buf);
    (void)!write(1, buf, n > 0 ? n : 0);
    lseek(fd, 0, SEEK_SET);
    (void)!pread(fd, buf, 5, 2);
    close(fd);
    (void)!openat(AT_FDCWD, missing, O_RDONLY);
    (void)!access(missing, F_OK);
    mkdir(sub, 0750);
    (void)!symlink("data.txt", link);
    (void)!readlink(link, buf, sizeof buf);
    unlink(link);
    rmdir(sub);
    (void)!chdir(argv[1]);
    int wfd = openat(AT_FDCWD, "out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!write(wfd, "sonde oracle line\n", 18);
    close(wfd);
    unlink("out.txt");
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    (void)!connect(s, (struct sockaddr *)&sin, sizeof sin);
    close(s);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    strcpy(sun.sun_path, "/nonexistent/sonde.sock");
    (void)!connect(u, (struct sockaddr *)&sun, sizeof sun);
    close(u);
    /* Vectors and message headers through a datagram socket pair, and select on it. */
    int sv[2];
    (void)!socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct iovec out[2] = { { "vec one ", 8 }, { "vec two", 7 } };
    (void)!writev(sv[0], out, 2);
    char head[4], tail[32];
    struct iovec in[2] = { { head, sizeof head }, { tail, sizeof tail } };
    (void)!readv(sv[1], in, 2);
    struct iovec sent = { "message", 7 };
    struct msghdr message = { .msg_iov = &sent, .msg_iovlen = 1 };
    (void)!sendmsg(sv[0], &message, 0);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(sv[1], &readable);
    (void)!select(sv[1] + 1, &readable, NULL, NULL, NULL);
    struct iovec received = { buf, 64 };
    struct msghdr reply = { .msg_iov = &received, .msg_iovlen = 1 };
    (void)!recvmsg(sv[1], &reply, 0);
    close(sv[0]);
    close(sv[1]);
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
    (void)!dup(1);
    (void)!kill(0, 0);
    /* Arguments the kernel writes back, whose direction depends on another argument. */
    int pipefd[2];
    if (pipe(pipefd) == 0) {
        (void)!write(pipefd[1], "12345", 5);
        int pending = 0;
        (void)!ioctl(pipefd[0], FIONREAD, &pending);
        close(pipefd[0]);
        close(pipefd[1]);
    }
    char name[16] = "";
    prctl(PR_SET_NAME, "oracle-name");
    prctl(PR_GET_NAME, name);
    /* Offsets passed in and written back, a lock the kernel reports, a struct option. */
    int data = open(path, O_RDONLY);
    char copy[512];
    snprintf(copy, sizeof copy, "%s/copy.txt", argv[1]);
    int target = open(copy, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (data >= 0 && target >= 0 && pipe(pipefd) == 0) {
        off_t offset = 0;
        loff_t in = 1, from = 2;
        (void)!sendfile(pipefd[1], data, &offset, 4);
        (void)!splice(data, &in, pipefd[1], NULL, 3, 0);
        (void)!copy_file_range(data, &from, target, NULL, 2, 0);
        struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        (void)!fcntl(target, F_GETLK, &lock);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct linger linger;
        socklen_t size = sizeof linger;
        (void)!getsockopt(s, SOL_SOCKET, SO_LINGER, &linger, &size);
        close(s);
        close(pipefd[0]);
        close(pipefd[1]);
    }
    close(data);
    close(target);
    mark("SONDE-ORACLE-END");
    return 0;
}
