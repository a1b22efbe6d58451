// SPDX-License-Identifier: GPL-2.0
/* Used by sonde's own tests of BPFKit: on every syscall entry of one process (target_tgid, set
 * before load), sends a numbered record to a ring buffer and to a perf buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

struct selftest_record {
    __u64 sequence;
    __u32 tgid;
    __u32 syscall_nr;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} sequence SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int selftest_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != target_tgid)
        return 0;
    __u32 zero = 0;
    __u64 *seq = bpf_map_lookup_elem(&sequence, &zero);
    if (!seq)
        return 0;
    struct selftest_record r = {
        .sequence = __sync_fetch_and_add(seq, 1),
        .tgid = tgid,
        .syscall_nr = (__u32)ctx->args[1],
    };
    bpf_ringbuf_output(&ring, &r, sizeof(r), 0);
    bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &r, sizeof(r));
    return 0;
}
