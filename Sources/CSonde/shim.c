#define _GNU_SOURCE
#include "csonde.h"
#include <sched.h>
#include <signal.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <linux/capability.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <linux/mount.h>

int sonde_notif_recv(int fd, struct seccomp_notif *notification) {
    // The kernel refuses a RECV buffer that is not zeroed (EINVAL).
    memset(notification, 0, sizeof *notification);
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notification);
}

int sonde_notif_send(int fd, struct seccomp_notif_resp *response) {
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, response);
}

int sonde_notif_id_valid(int fd, uint64_t id) {
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id);
}

int sonde_notif_set_sync_wakeup(int fd) {
    return ioctl(fd, SECCOMP_IOW(4, __u64), 1UL);
}

int sonde_notif_sizes(struct seccomp_notif_sizes *sizes) {
    return (int)syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, sizes);
}

int sonde_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int sonde_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int sonde_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int sonde_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
int sonde_setfsuid(uint32_t uid) { return (int)syscall(SYS_setfsuid, uid); }
int sonde_setfsgid(uint32_t gid) { return (int)syscall(SYS_setfsgid, gid); }

int sonde_open_tree(int dirfd, const char *path, unsigned int flags) {
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int sonde_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags) {
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

ssize_t sonde_send_with_fds(int socket, const void *bytes, size_t length, const int *fds, int count) {
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = length };
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1 };
    char control[CMSG_SPACE(sizeof(int) * 8)];
    if (count > 8) count = 8;
    if (count > 0) {
        memset(control, 0, sizeof control);
        message.msg_control = control;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    }
    return sendmsg(socket, &message, MSG_NOSIGNAL);
}

ssize_t sonde_recv_with_fds(int socket, void *bytes, size_t capacity, int *fds, int max_fds,
                            int *fd_count, int *truncated) {
    struct iovec iov = { .iov_base = bytes, .iov_len = capacity };
    char control[CMSG_SPACE(sizeof(int) * 16)];
    struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
    *fd_count = 0;
    *truncated = 0;
    ssize_t got = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (got < 0) return got;
    if (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) *truncated = 1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *received = (int *)CMSG_DATA(header);
        for (int i = 0; i < n; i++) {
            // Every fd received is either handed back or closed: none leaks.
            if (*fd_count < max_fds) fds[(*fd_count)++] = received[i];
            else { close(received[i]); *truncated = 1; }
        }
    }
    return got;
}

int sonde_unshare(int flags) { return unshare(flags); }
pid_t sonde_fork(void) { return fork(); }
int sonde_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data) {
    return mount(source, target, fstype, flags, data);
}
int sonde_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
    return fsetxattr(fd, name, value, size, flags);
}
// The raw syscall: the kernel's 32-bit dev encoding, exactly as the caller passed it.
int sonde_mknodat(int dirfd, const char *name, uint32_t mode, uint32_t device) {
    return (int)syscall(SYS_mknodat, dirfd, name, mode, device);
}

int sonde_mount_setattr_empty(int fd, uint64_t set, unsigned int recursive) {
    struct mount_attr attr = { .attr_set = set };
    return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

ssize_t sonde_process_vm_read(pid_t pid, void *local, uint64_t remote, size_t count) {
    struct iovec here = { .iov_base = local, .iov_len = count };
    struct iovec there = { .iov_base = (void *)(uintptr_t)remote, .iov_len = count };
    return process_vm_readv(pid, &here, 1, &there, 1, 0);
}

int sonde_accept_cloexec(int socket) { return accept4(socket, NULL, NULL, SOCK_CLOEXEC); }

int sonde_get_capabilities(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
    *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    *inheritable = (uint64_t)data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
    return 0;
}

int sonde_set_capabilities(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2] = {
        { .effective = (uint32_t)effective, .permitted = (uint32_t)permitted, .inheritable = (uint32_t)inheritable },
        { .effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32), .inheritable = (uint32_t)(inheritable >> 32) },
    };
    return (int)syscall(SYS_capset, &header, data);
}

int sonde_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int sonde_thread_setgroups(const uint32_t *groups, int count) {
    return (int)syscall(SYS_setgroups, count, groups);
}

int sonde_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

int sonde_restrict_capabilities(uint64_t keep) {
    // The bounding set first (needs CAP_SETPCAP, which is dropped last), then ambient, then the rest.
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;   // unknown to this kernel, or already gone
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return -1;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return -1;
    uint64_t effective, permitted, inheritable;
    if (sonde_get_capabilities(&effective, &permitted, &inheritable) != 0) return -1;
    return sonde_set_capabilities(effective & keep, permitted & keep, 0);
}

int sonde_become(uint32_t uid, uint32_t gid, int drop_groups) {
    // Dropping groups fails (EPERM) where the user namespace denies setgroups; the process then keeps
    // none it did not already have, so that is not an error.
    if (drop_groups && syscall(SYS_setgroups, 0, NULL) != 0 && errno != EPERM) return -1;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) return -1;
    return (int)syscall(SYS_setresuid, uid, uid, uid);
}

int sonde_close_from(int first) { return (int)syscall(SYS_close_range, first, ~0U, 0); }

int sonde_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
