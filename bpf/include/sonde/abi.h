/* The record layouts both sides read: BPF writes them, Sources/Gadgets decodes them.
 * Plain C, no kernel types, so user space can mirror it field by field. */
#ifndef SONDE_ABI_H
#define SONDE_ABI_H

enum sonde_cgroup_state {
    SONDE_CGROUP_SELECTED = 1,
    SONDE_CGROUP_PENDING = 2, /* created while sonde runs; user space decides */
};

enum sonde_event_kind {
    SONDE_KIND_CGROUP_CREATED = 1,
    SONDE_KIND_CGROUP_REMOVED = 2,
    SONDE_KIND_EXEC = 16,
    /* 17-31: trace open, bind, signal, capabilities, mount, oomkill (branch gadgets-a) */
    SONDE_KIND_OPEN = 17,
    SONDE_KIND_BIND = 18,
    SONDE_KIND_SIGNAL = 19,
    SONDE_KIND_CAPABILITY = 20,
    SONDE_KIND_MOUNT = 21,
    SONDE_KIND_OOMKILL = 22,
    SONDE_KIND_TCP = 40,             /* trace tcp */
    SONDE_KIND_ADVISE_SYSCALL = 48,  /* advise seccomp-profile: a cgroup's first use of a syscall */
    SONDE_KIND_PTRACE = 50,          /* trace ptrace (audit rules) */
    SONDE_KIND_STARTUP = 56,         /* trace startup: a milestone of a new container (bpf/startup.h) */
};

enum sonde_lost_reason {
    SONDE_LOST_RINGBUF_FULL = 0,  /* user space too slow: the ring buffer was full */
    SONDE_LOST_INFLIGHT_FULL = 1, /* too many calls in flight between enter and exit */
    SONDE_LOST_REASONS = 2,
};

#define SONDE_COMM_LEN 16

struct sonde_event_header {
    __u64 timestamp_ns; /* CLOCK_BOOTTIME */
    __u64 cgroup_id;    /* cgroup v2 id of the task (for cgroup events: the cgroup's own id) */
    __u64 mntns_id;
    __u32 kind;         /* enum sonde_event_kind */
    __u32 pid;          /* tgid */
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    char comm[SONDE_COMM_LEN];
};

#define SONDE_CGROUP_PATH_LEN 512

struct sonde_cgroup_event {
    struct sonde_event_header hdr;
    __s32 level;
    __u32 path_len; /* bytes of path including the NUL */
    char path[SONDE_CGROUP_PATH_LEN];
};

#endif
