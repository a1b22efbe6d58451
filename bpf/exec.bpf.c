// SPDX-License-Identifier: GPL-2.0
/* trace exec: every execve and execveat of the selected containers, with argv and result.
 * argv is read at entry (the caller's memory is gone after a successful exec) into a per-process
 * slot and sent at exit with the return value. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "exec.h"

char LICENSE[] SEC("license") = "GPL";

/* Calls between enter and exit, by tgid: a successful exec from a non-leader thread exits as the
 * leader (de_thread), so the tid can change but the tgid does not. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u32);
    __type(value, struct sonde_exec_event);
} inflight SEC(".maps");

/* Scratch space: the event is too large for the 512-byte BPF stack. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sonde_exec_event);
} scratch SEC(".maps");

static __always_inline int on_enter(const char *filename, const char *const *argv, __u32 nr)
{
    if (!sonde_selected())
        return 0;
    __u32 zero = 0;
    struct sonde_exec_event *e = bpf_map_lookup_elem(&scratch, &zero);
    if (!e)
        return 0;

    e->flags = 0;
    e->args_count = 0;
    e->syscall_nr = nr;
    long n = bpf_probe_read_user_str(e->path, sizeof(e->path), filename);
    if (n < 0)
        e->path[0] = 0;
    else if (n == sizeof(e->path))
        e->flags |= SONDE_EXEC_PATH_TRUNCATED;

    __u32 off = 0;
    for (int i = 0; i < SONDE_EXEC_MAX_ARGS; i++) {
        const char *arg = NULL;
        if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) < 0 || !arg)
            goto done;
        if (off >= SONDE_EXEC_ARGS_SIZE) {
            e->flags |= SONDE_EXEC_ARGS_TRUNCATED;
            goto done;
        }
        n = bpf_probe_read_user_str(&e->args[off & (SONDE_EXEC_ARGS_SIZE - 1)], SONDE_EXEC_ARGS_SIZE, arg);
        if (n <= 0)
            goto done;
        if (off + n > SONDE_EXEC_ARGS_SIZE) {
            /* This argument does not fit entirely: keep what fits, cut at the bound. */
            e->flags |= SONDE_EXEC_ARGS_TRUNCATED;
            e->args_count++;
            off = SONDE_EXEC_ARGS_SIZE;
            goto done;
        }
        off += n;
        e->args_count++;
    }
    /* More arguments than MAX_ARGS? */
    const char *more = NULL;
    if (bpf_probe_read_user(&more, sizeof(more), &argv[SONDE_EXEC_MAX_ARGS]) == 0 && more)
        e->flags |= SONDE_EXEC_ARGS_TRUNCATED;
done:
    e->args_size = off;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bpf_map_update_elem(&inflight, &tgid, e, BPF_ANY) < 0)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
    return 0;
}

static __always_inline int on_exit(long ret)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct sonde_exec_event *e = bpf_map_lookup_elem(&inflight, &tgid);
    if (!e)
        return 0;
    sonde_fill_header(&e->hdr, SONDE_KIND_EXEC);
    e->retval = ret;
    __u32 size = offsetof(struct sonde_exec_event, args) + (e->args_size & (SONDE_EXEC_ARGS_SIZE * 2 - 1));
    if (size > sizeof(*e))
        size = sizeof(*e);
    if (bpf_ringbuf_output(&sonde_events, e, size, 0) < 0)
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
    bpf_map_delete_elem(&inflight, &tgid);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int sonde_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
    return on_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1], ctx->id);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int sonde_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
    return on_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2], ctx->id);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int sonde_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int sonde_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret);
}
