// SPDX-License-Identifier: GPL-2.0
/* trace ptrace: every ptrace(2) call of the selected containers, with its request, target and
 * result. The arguments are kept at entry, by thread, and sent at exit with the result. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "ptrace.h"

char LICENSE[] SEC("license") = "GPL";

/* Calls between enter and exit, by tid (ptrace is per thread and never changes the caller's tid). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct sonde_ptrace_event);
} inflight SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_ptrace")
int sonde_enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
    if (!sonde_selected())
        return 0;
    struct sonde_ptrace_event e = {};
    e.request = ctx->args[0];
    e.target_pid = (__s32)ctx->args[1];
    e.addr = ctx->args[2];
    e.data = ctx->args[3];
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (bpf_map_update_elem(&inflight, &tid, &e, BPF_ANY) < 0)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int sonde_exit_ptrace(struct trace_event_raw_sys_exit *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct sonde_ptrace_event *e = bpf_map_lookup_elem(&inflight, &tid);
    if (!e)
        return 0;
    sonde_fill_header(&e->hdr, SONDE_KIND_PTRACE);
    e->retval = ctx->ret;
    if (bpf_ringbuf_output(&sonde_events, e, sizeof(*e), 0) < 0)
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
    bpf_map_delete_elem(&inflight, &tid);
    return 0;
}
