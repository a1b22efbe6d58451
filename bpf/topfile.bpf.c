// SPDX-License-Identifier: GPL-2.0
/* top file: reads, writes and bytes per file per process, aggregated in the kernel.
 * The fd is taken at syscall entry and resolved at exit, when the byte count is known. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "sonde/task_files.h"
#include "topfile.h"

char LICENSE[] SEC("license") = "GPL";

/* 0: regular files only; 1: every file (pipes, sockets, devices too). */
const volatile __u8 topfile_all_files = 0;

enum io_kind { IO_READ, IO_WRITE, IO_SENDFILE };

struct inflight_io {
    __u64 fd;       /* read, write: the file; sendfile: the one written to */
    __u64 in_fd;    /* sendfile: the one read from */
    __u32 kind;     /* enum io_kind */
};

/* Calls between entry and exit, by tid. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, struct inflight_io);
} topfile_inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, struct sonde_topfile_key);
    __type(value, struct sonde_topfile_value);
} topfile_stats SEC(".maps");

/* Scratch for a new entry: too large for the stack with the rest. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sonde_topfile_value);
} topfile_scratch SEC(".maps");

/* Keep BTF of the ABI types for the layout test. */
const struct sonde_topfile_key *sonde_btf_topfile_key __attribute__((unused));
const struct sonde_topfile_value *sonde_btf_topfile_value __attribute__((unused));

static __always_inline int on_enter(__u64 fd, __u64 in_fd, __u32 kind)
{
    if (!sonde_selected())
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct inflight_io io = { .fd = fd, .in_fd = in_fd, .kind = kind };
    if (bpf_map_update_elem(&topfile_inflight, &tid, &io, BPF_ANY) < 0)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
    return 0;
}

/* Adds one call moving `ret` bytes to the file behind `fd`. */
static __noinline int account(__u64 fd, __u32 write, long ret)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)pid_tgid;
    struct file *file = sonde_fd_file(fd);
    if (!file)
        return 0;
    __u32 mode = sonde_file_mode(file);
    if (!topfile_all_files && (mode & SONDE_S_IFMT) != SONDE_S_IFREG)
        return 0;

    struct sonde_topfile_key key = {
        .cgroup_id = sonde_cgroup_id(),
        .dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev),
        .inode = BPF_CORE_READ(file, f_inode, i_ino),
        .pid = pid_tgid >> 32,
    };
    struct sonde_topfile_value *value = bpf_map_lookup_elem(&topfile_stats, &key);
    if (!value) {
        __u32 zero = 0;
        struct sonde_topfile_value *fresh = bpf_map_lookup_elem(&topfile_scratch, &zero);
        if (!fresh)
            return 0;
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        __u64 uid_gid = bpf_get_current_uid_gid();
        __builtin_memset(fresh, 0, sizeof(*fresh));
        fresh->mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
        fresh->tid = tid;
        fresh->ppid = BPF_CORE_READ(task, real_parent, tgid);
        fresh->uid = (__u32)uid_gid;
        fresh->gid = uid_gid >> 32;
        fresh->mode = mode;
        bpf_get_current_comm(fresh->comm, sizeof(fresh->comm));
        /* f_path and d_name are const members: BPF_CORE_READ cannot declare their copies. */
        struct dentry *dentry = NULL;
        const unsigned char *name = NULL;
        bpf_core_read(&dentry, sizeof(dentry), &file->f_path.dentry);
        bpf_core_read(&name, sizeof(name), &dentry->d_name.name);
        bpf_probe_read_kernel_str(fresh->name, sizeof(fresh->name), name);
        if (bpf_map_update_elem(&topfile_stats, &key, fresh, BPF_NOEXIST) < 0 &&
            !bpf_map_lookup_elem(&topfile_stats, &key)) {
            /* The table is full until user space empties it at the end of the interval. */
            sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
            return 0;
        }
        value = bpf_map_lookup_elem(&topfile_stats, &key);
        if (!value)
            return 0;
    }
    if (write) {
        __sync_fetch_and_add(&value->writes, 1);
        __sync_fetch_and_add(&value->write_bytes, ret);
    } else {
        __sync_fetch_and_add(&value->reads, 1);
        __sync_fetch_and_add(&value->read_bytes, ret);
    }
    return 0;
}

static __always_inline int on_exit(long ret)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct inflight_io *found = bpf_map_lookup_elem(&topfile_inflight, &tid);
    if (!found)
        return 0;
    struct inflight_io io = *found;
    bpf_map_delete_elem(&topfile_inflight, &tid);
    if (ret < 0)
        return 0;
    if (io.kind == IO_SENDFILE) {
        /* sendfile reads one file and writes another: both moved ret bytes. */
        account(io.in_fd, 0, ret);
        account(io.fd, 1, ret);
    } else {
        account(io.fd, io.kind == IO_WRITE, ret);
    }
    return 0;
}

#define TOPFILE_SYSCALL(name, kind)                                       \
    SEC("tracepoint/syscalls/sys_enter_" #name)                           \
    int sonde_topfile_enter_##name(struct trace_event_raw_sys_enter *ctx) \
    {                                                                     \
        return on_enter(ctx->args[0], 0, kind);                           \
    }                                                                     \
    SEC("tracepoint/syscalls/sys_exit_" #name)                            \
    int sonde_topfile_exit_##name(struct trace_event_raw_sys_exit *ctx)   \
    {                                                                     \
        return on_exit(ctx->ret);                                         \
    }

TOPFILE_SYSCALL(read, IO_READ)
TOPFILE_SYSCALL(pread64, IO_READ)
TOPFILE_SYSCALL(readv, IO_READ)
TOPFILE_SYSCALL(preadv, IO_READ)
TOPFILE_SYSCALL(preadv2, IO_READ)
TOPFILE_SYSCALL(write, IO_WRITE)
TOPFILE_SYSCALL(pwrite64, IO_WRITE)
TOPFILE_SYSCALL(writev, IO_WRITE)
TOPFILE_SYSCALL(pwritev, IO_WRITE)
TOPFILE_SYSCALL(pwritev2, IO_WRITE)

/* sendfile(out_fd, in_fd, offset, count): what busybox cat uses to copy a file. */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int sonde_topfile_enter_sendfile64(struct trace_event_raw_sys_enter *ctx)
{
    return on_enter(ctx->args[0], ctx->args[1], IO_SENDFILE);
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int sonde_topfile_exit_sendfile64(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret);
}
