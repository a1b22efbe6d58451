// SPDX-License-Identifier: GPL-2.0
/* trace startup: the milestones of a new container, each sent once per cgroup:
 *   the runtime's exec and the cgroup it makes -> the entrypoint's exec -> the first listen -> the
 *   first accepted connection.
 * Tracepoints only. The runtime is found without knowing its name: the process that makes a
 * container's cgroup is the runtime (runc create/run, crun; under containerd and podman the runc
 * they exec), so each exec of the host is remembered by tgid, and the cgroup_mkdir program looks
 * up when its caller was exec'd. */
#include "sonde/common.h"
#include "sonde/dispatch_consumer.h"
#include "sonde/cgroup_tracking.h"
#include "sonde/task_files.h"
#include <bpf/bpf_endian.h>
#include "startup.h"

char LICENSE[] SEC("license") = "GPL";

/* Keeps the record type in BTF, so a test can check user space reads the same layout. */
const struct sonde_startup_event *sonde_btf_startup_event __attribute__((unused));

/* The host's mount namespace (of pid 1), set by user space. The runtime's own processes in the new
 * cgroup (runc init, its re-exec of a sealed copy of itself) still run in it; the entrypoint is
 * the first exec after the runtime entered the container's mount namespace. */
const volatile __u64 sonde_host_mntns = 0;

#define TCP_LISTEN_STATE 10

struct exec_info {
    __u64 ns;
    char path[SONDE_STARTUP_PATH_LEN];
};

/* Last exec of every process of the host, by tgid. LRU: exits are not followed, old entries go. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, struct exec_info);
} execs SEC(".maps");

/* Milestones already sent, by cgroup id: one bit per step. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, __u32);
} reached SEC(".maps");

/* Scratch for the exec info (too large for the stack). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct exec_info);
} scratch SEC(".maps");

/* True the first time `step` is reached in `cgroup`. Not atomic: two threads reaching the same
 * step at once may both report it; user space keeps the earliest. */
static __always_inline bool first_time(__u64 cgroup, __u32 step)
{
    __u32 bit = 1u << step;
    __u32 *mask = bpf_map_lookup_elem(&reached, &cgroup);
    if (!mask) {
        __u32 fresh = bit;
        /* A full map reports again rather than never: user space de-duplicates. */
        bpf_map_update_elem(&reached, &cgroup, &fresh, BPF_NOEXIST);
        return true;
    }
    if (*mask & bit)
        return false;
    *mask |= bit;
    return true;
}

static __always_inline struct sonde_startup_event *reserve(__u32 step, __u64 cgroup)
{
    struct sonde_startup_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return NULL;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_STARTUP);
    e->cgroup_id = cgroup;
    e->runtime_exec_ns = 0;
    e->step = step;
    e->port = 0;
    e->peer_port = 0;
    e->level = 0;
    e->runtime_path[0] = 0;
    e->cgroup_path[0] = 0;
    return e;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sonde_startup_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 zero = 0;
    struct exec_info *info = bpf_map_lookup_elem(&scratch, &zero);
    if (!info)
        return 0;
    info->ns = bpf_ktime_get_boot_ns();
    const char *filename = BPF_CORE_READ(bprm, filename);
    if (bpf_probe_read_kernel_str(info->path, sizeof(info->path), filename) < 0)
        info->path[0] = 0;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    bpf_map_update_elem(&execs, &tgid, info, BPF_ANY);

    if (!sonde_selected())
        return 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) == sonde_host_mntns)
        return 0;
    __u64 cgroup = sonde_cgroup_id();
    if (!first_time(cgroup, SONDE_STARTUP_EXEC))
        return 0;
    struct sonde_startup_event *e = reserve(SONDE_STARTUP_EXEC, cgroup);
    if (!e)
        return 0;
    __builtin_memcpy(e->runtime_path, info->path, sizeof(e->runtime_path));
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(sonde_startup_mkdir, struct cgroup *cgrp, const char *path)
{
    if (!sonde_is_v2(cgrp))
        return 0;
    __u64 cgroup = BPF_CORE_READ(cgrp, kn, id);
    struct sonde_startup_event *e = reserve(SONDE_STARTUP_CGROUP, cgroup);
    if (!e)
        return 0;
    e->level = BPF_CORE_READ(cgrp, level);
    bpf_probe_read_kernel_str(e->cgroup_path, sizeof(e->cgroup_path), path);
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct exec_info *info = bpf_map_lookup_elem(&execs, &tgid);
    if (info) {
        e->runtime_exec_ns = info->ns;
        __builtin_memcpy(e->runtime_path, info->path, sizeof(e->runtime_path));
    }
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(sonde_startup_rmdir, struct cgroup *cgrp, const char *path)
{
    if (!sonde_is_v2(cgrp))
        return 0;
    __u64 cgroup = BPF_CORE_READ(cgrp, kn, id);
    /* Only cgroups that reached a milestone matter (that is, were selected). */
    if (bpf_map_delete_elem(&reached, &cgroup) < 0)
        return 0;
    struct sonde_startup_event *e = reserve(SONDE_STARTUP_GONE, cgroup);
    if (!e)
        return 0;
    bpf_probe_read_kernel_str(e->cgroup_path, sizeof(e->cgroup_path), path);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* The kernel moves a socket to LISTEN inside listen(2), in the caller's context. */
SEC("tracepoint/sock/inet_sock_set_state")
int sonde_startup_listen(struct trace_event_raw_inet_sock_set_state *ctx)
{
    if (ctx->newstate != TCP_LISTEN_STATE || ctx->protocol != IPPROTO_TCP || !sonde_selected())
        return 0;
    __u64 cgroup = sonde_cgroup_id();
    if (!first_time(cgroup, SONDE_STARTUP_LISTEN))
        return 0;
    struct sonde_startup_event *e = reserve(SONDE_STARTUP_LISTEN, cgroup);
    if (!e)
        return 0;
    e->port = ctx->sport;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

#define NR_ACCEPT 43
#define NR_ACCEPT4 288

/* The first accepted connection, from the syscall dispatcher's exits of the selected cgroups
 * (attaching to syscalls/sys_exit_accept* instead would put a tracepoint callback on every
 * syscall of every process). Once it is reached the cgroup is no longer wanted. */
static __always_inline void on_accept_exit(struct sonde_dispatch_context *d, long ret)
{
    __u64 cgroup = d->key;
    if (ret < 0 || !first_time(cgroup, SONDE_STARTUP_ACCEPT))
        return;
    sonde_dispatch_unwant(cgroup, sonde_dispatch_bit());
    struct sonde_startup_event *e = reserve(SONDE_STARTUP_ACCEPT, cgroup);
    if (!e)
        return;
    struct sock *sk = sonde_file_sock(sonde_fd_file(ret));
    if (sk) {
        e->port = BPF_CORE_READ(sk, __sk_common.skc_num);
        e->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    }
    bpf_ringbuf_submit(e, 0);
}

/* Called by the dispatcher for the calls of selected cgroups (never attached itself). */
SEC("tp_btf/sys_exit")
int BPF_PROG(sonde_startup_sys_exit, struct pt_regs *regs, long ret)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_EXIT);
    if (!d)
        return 0;
    long nr = regs->orig_ax;
    if (nr == NR_ACCEPT || nr == NR_ACCEPT4)
        on_accept_exit(d, ret);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_EXIT, d);
    return 0;
}
