// C shims for sonde's seccomp supervisor. Only what Swift cannot import by itself; no logic here.
//  - SECCOMP_IOCTL_NOTIF_* are function-like ioctl macros: Swift does not import them, so they are
//    wrapped as functions taking the kernel's structs (struct seccomp_notif / _resp come from
//    <linux/seccomp.h> and import as-is).
//  - pidfd_open, pidfd_send_signal, openat2, fsopen-family and setns are called through syscall(2),
//    which is variadic and does not import; the wrappers also avoid depending on the glibc version.
//  - SCM_RIGHTS needs the CMSG_* macros, which do not import.
//  - seccomp_rule_add is variadic; libseccomp's seccomp_rule_add_array imports directly.
#ifndef CSONDE_H
#define CSONDE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/seccomp.h>
#include <linux/openat2.h>
#include <seccomp.h>

// ioctls on a seccomp notify fd. Return 0 or -1 with errno set, like ioctl(2).
int sonde_notif_recv(int fd, struct seccomp_notif *notification);
int sonde_notif_send(int fd, struct seccomp_notif_resp *response);
int sonde_notif_id_valid(int fd, uint64_t id);
// SECCOMP_IOCTL_NOTIF_SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), Linux 6.6+ (newer than Debian 12's
// headers, so the numbers are spelled out): the kernel wakes the waiting target and the supervisor
// as a synchronous pair, which roughly halves a notification's round trip. Fails with EINVAL on
// older kernels, which is harmless.
int sonde_notif_set_sync_wakeup(int fd);

// The kernel's structure sizes, for a check at start (SECCOMP_GET_NOTIF_SIZES).
int sonde_notif_sizes(struct seccomp_notif_sizes *sizes);

int sonde_pidfd_open(pid_t pid);
int sonde_pidfd_send_signal(int pidfd, int signal);

// openat2(2) with RESOLVE_* flags.
int sonde_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

// Namespace types for setns/unshare (CLONE_* from <sched.h> need _GNU_SOURCE, which Swift's Glibc lacks).
enum {
    SONDE_CLONE_FS = 0x00000200,
    SONDE_CLONE_NEWNS = 0x00020000,
    SONDE_CLONE_NEWUSER = 0x10000000,
    SONDE_CLONE_NEWPID = 0x20000000,
};
int sonde_setns(int fd, int nstype);
// setfsuid/setfsgid act on the calling thread only (the raw syscalls; glibc does not broadcast them).
// They return the previous id.
int sonde_setfsuid(uint32_t uid);
int sonde_setfsgid(uint32_t gid);

// The calling thread's effective capability set as a 64-bit mask, read and set with capget/capset
// (per thread; the permitted set is left alone, so the agent can always raise them back).
// Return 0 or -1 with errno.
int sonde_get_capabilities(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);
int sonde_set_capabilities(uint64_t effective, uint64_t permitted, uint64_t inheritable);

// prctl(PR_SET_NO_NEW_PRIVS) (prctl is variadic).
int sonde_set_no_new_privs(void);

// The calling thread's supplementary groups (the raw syscall: glibc's setgroups() broadcasts the
// change to every thread of the process, which would hand one caller's groups to the whole agent).
int sonde_thread_setgroups(const uint32_t *groups, int count);

// Hardening for a helper that enters a container (CVE-2016-9962's class: a process of the container
// must not be able to ptrace or read a privileged process that joined it).
//  - PR_SET_DUMPABLE 0: ptrace and /proc/PID access then need CAP_SYS_PTRACE in the user namespace
//    the helper was exec'd in (the host's), which no container process has. Credential changes
//    reset it to fs.suid_dumpable, so call it again after each.
int sonde_set_nondumpable(void);
//  - drops every capability not in `keep` from the bounding, ambient, inheritable, permitted and
//    effective sets (in the user namespace the process is in now).
int sonde_restrict_capabilities(uint64_t keep);
//  - setresgid/setresuid/setgroups as raw syscalls (the helper is single-threaded; no broadcast).
int sonde_become(uint32_t uid, uint32_t gid, int drop_groups);
//  - closes every fd from `first` up (close_range(2), Linux 5.9).
int sonde_close_from(int first);

// open_tree(2) and move_mount(2) (bind mounts inside a container's mount namespace).
int sonde_open_tree(int dirfd, const char *path, unsigned int flags);
int sonde_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags);

// mount_setattr(2) on a detached tree (MOUNT_ATTR_* in `set`), applied before it is attached.
int sonde_mount_setattr_empty(int fd, uint64_t set, unsigned int recursive);

// process_vm_readv(2) of one remote range into one local buffer (<sys/uio.h> needs _GNU_SOURCE).
ssize_t sonde_process_vm_read(pid_t pid, void *local, uint64_t remote, size_t count);

// Process and fs-attribute calls whose headers (<sched.h> with _GNU_SOURCE, <sys/mount.h>,
// <sys/xattr.h>) are not part of Swift's Glibc module.
int sonde_unshare(int flags);
pid_t sonde_fork(void);
int sonde_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data);
int sonde_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);
int sonde_mknodat(int dirfd, const char *name, uint32_t mode, uint32_t device);

// accept4(2) with SOCK_CLOEXEC (not in Swift's Glibc module): a connection fd must never leak into a
// helper spawned by another thread meanwhile.
int sonde_accept_cloexec(int socket);

// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): wakes a thread blocked in poll (<sys/eventfd.h> is not in Swift's Glibc).
int sonde_eventfd(void);

// Sends `length` bytes and `count` fds (SCM_RIGHTS) on a unix socket. Returns bytes sent or -1.
ssize_t sonde_send_with_fds(int socket, const void *bytes, size_t length, const int *fds, int count);
// Receives up to `capacity` bytes and up to `max_fds` fds. `*fd_count` gets how many fds came;
// `*truncated` is set when the kernel cut data or fds (MSG_TRUNC / MSG_CTRUNC). Returns bytes or -1.
ssize_t sonde_recv_with_fds(int socket, void *bytes, size_t capacity, int *fds, int max_fds,
                            int *fd_count, int *truncated);

#endif
