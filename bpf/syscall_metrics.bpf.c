// SPDX-License-Identifier: GPL-2.0
/* Syscall metrics: per container (cgroup v2 id) and syscall, the calls, the failed calls and a
 * log2 histogram of their latency (when `sysmet_latency` is set), counted in the kernel in a
 * per-CPU table. No events: user space reads the table when it wants (sonde top syscalls, the
 * daemon's Prometheus endpoint).
 *
 * The programs are consumers of the node's syscall dispatcher (bpf/dispatch.bpf.c): they run only
 * for the calls of selected cgroups, so a process that is not selected pays the dispatcher's
 * cached "no" and nothing of this file. Each helper call counts: with this kernel's mitigations
 * (retpolines, SRSO return thunks) one costs 15-50 ns (bench/README.md). */
#include "sonde/common.h"
#include "sonde/dispatch_consumer.h"
#include "sonde/cgroup_tracking.h"
#include "syscall_metrics.h"

char LICENSE[] SEC("license") = "GPL";

#define SYSMET_NR_RT_SIGRETURN 15
#define SYSMET_NR_EXIT 60
#define SYSMET_NR_EXIT_GROUP 231
#define SYSMET_NR_LIMIT 1024

/* Set by user space before load. 1: the latency histogram, which takes a clock read at entry and
 * one at exit (each a helper call of tens of ns with this kernel's mitigations, more than the rest
 * of this file together). 0: calls and errors only, counted at exit with the syscall number from
 * the registers, and no clock read at all (the daemon's default, as syscount's). */
const volatile __u8 sysmet_latency = 1;

/* The call in flight of a selected task, from entry to exit, in the slot of the dispatcher's task
 * index (found without a helper call, unlike task storage). Two live tasks may share a slot: the
 * exit checks the task's identity, and a call whose entry was overwritten is counted as lost. */
struct sysmet_inflight {
    __u64 task;      /* the dispatcher's task identity */
    __u64 start_ns;  /* 0: nothing in flight */
    __u64 cgroup_id;
    __u32 nr;
    __u32 reserved;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SONDE_DISPATCH_TASK_SLOTS);
    __type(key, __u32);
    __type(value, struct sysmet_inflight);
} sysmet_inflight SEC(".maps");

/* Totals per (cgroup, syscall) per CPU: each CPU adds to its own copy, no atomics. Entries are
 * never emptied by the kernel; user space deletes those of cgroups that are gone. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct sonde_sysmet_key);
    __type(value, struct sonde_sysmet_value);
} sysmet_stats SEC(".maps");

/* A zeroed value for new entries: too large for the stack beside the rest. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sonde_sysmet_value);
} sysmet_zero SEC(".maps");

/* Keep BTF of the ABI types for the layout test. */
const struct sonde_sysmet_key *sonde_btf_sysmet_key __attribute__((unused));
const struct sonde_sysmet_value *sonde_btf_sysmet_value __attribute__((unused));

/* The number of significant bits of v (0 for 0), capped to the last bucket. */
static __always_inline __u32 sysmet_bucket(__u64 v)
{
    __u32 bits = 0;
    if (v >> 32) { v >>= 32; bits += 32; }
    if (v >> 16) { v >>= 16; bits += 16; }
    if (v >> 8) { v >>= 8; bits += 8; }
    if (v >> 4) { v >>= 4; bits += 4; }
    if (v >> 2) { v >>= 2; bits += 2; }
    if (v >> 1) { v >>= 1; bits += 1; }
    bits += v;
    return bits < SONDE_SYSMET_BUCKETS ? bits : SONDE_SYSMET_BUCKETS - 1;
}

static __always_inline struct sonde_sysmet_value *sysmet_entry(__u64 cgroup_id, __u32 nr)
{
    struct sonde_sysmet_key key = { .cgroup_id = cgroup_id, .nr = nr };
    struct sonde_sysmet_value *value = bpf_map_lookup_elem(&sysmet_stats, &key);
    if (value)
        return value;
    /* First call of this syscall in this cgroup: about a few hundred per container. */
    __u32 zero = 0;
    struct sonde_sysmet_value *fresh = bpf_map_lookup_elem(&sysmet_zero, &zero);
    if (!fresh)
        return NULL;
    if (bpf_map_update_elem(&sysmet_stats, &key, fresh, BPF_NOEXIST) < 0) {
        value = bpf_map_lookup_elem(&sysmet_stats, &key); /* another CPU created it meanwhile */
        if (!value)
            sonde_count_lost(SONDE_LOST_INFLIGHT_FULL); /* the table is full */
        return value;
    }
    return bpf_map_lookup_elem(&sysmet_stats, &key);
}

/* exit and exit_group never return: counted when the task exits (sonde_sysmet_task_exit). */
static __always_inline bool sysmet_never_returns(long id)
{
    return id == SYSMET_NR_EXIT || id == SYSMET_NR_EXIT_GROUP;
}

/* With latency only: the call's start, for its exit. */
static __always_inline void sysmet_enter(struct sonde_dispatch_context *d, long id)
{
    if (sysmet_never_returns(id))
        return;
    __u32 index = d->task_index;
    struct sysmet_inflight *call = bpf_map_lookup_elem(&sysmet_inflight, &index);
    if (!call)
        return;
    if (call->start_ns && call->task != d->task)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL); /* another task's call in flight: rare */
    call->task = d->task;
    call->cgroup_id = d->key;
    call->nr = (__u32)id;
    call->start_ns = sonde_dispatch_now(d);
}

/* Called by the dispatcher for the calls of selected cgroups (never attached itself). Installed
 * only with latency: without it the dispatcher has nothing to call at entry for a task only the
 * metrics want, and answers such a task's entries from its cache. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sonde_sysmet_enter, struct pt_regs *regs, long id)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_ENTER);
    if (!d)
        return 0;
    sysmet_enter(d, id);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_ENTER, d);
    return 0;
}

/* Calls and errors without latency: the number is the one the exit tracepoint itself reports,
 * orig_ax. rt_sigreturn sets it to -1 (it restores the interrupted context's registers), and so
 * does a tracer that skips a call, which is rare: -1 is counted as rt_sigreturn, whose "result" is
 * the restored register, an error when the signal interrupted a call that failed (as strace -c). */
static __always_inline void sysmet_count_exit(struct sonde_dispatch_context *d, struct pt_regs *regs, long ret)
{
    long id = regs->orig_ax;
    if (id == -1)
        id = SYSMET_NR_RT_SIGRETURN;
    if (id < 0 || id >= SYSMET_NR_LIMIT)
        return;
    struct sonde_sysmet_value *value = sysmet_entry(d->key, (__u32)id);
    if (!value)
        return;
    value->count++;
    if (ret < 0)
        value->errors++;
}

static __always_inline void sysmet_exit(struct sonde_dispatch_context *d, long ret)
{
    __u32 index = d->task_index;
    struct sysmet_inflight *call = bpf_map_lookup_elem(&sysmet_inflight, &index);
    if (!call || !call->start_ns || call->task != d->task)
        return;
    __u64 latency = sonde_dispatch_now(d) - call->start_ns;
    call->start_ns = 0;
    struct sonde_sysmet_value *value = sysmet_entry(call->cgroup_id, call->nr);
    if (!value)
        return;
    value->count++;
    if (ret < 0)
        value->errors++;
    value->latency_ns += latency;
    __u32 bucket = sysmet_bucket(latency);
    if (bucket < SONDE_SYSMET_BUCKETS)
        value->buckets[bucket]++;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sonde_sysmet_exit, struct pt_regs *regs, long ret)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_EXIT);
    if (!d)
        return 0;
    if (sysmet_latency)
        sysmet_exit(d, ret);
    else
        sysmet_count_exit(d, regs, ret);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_EXIT, d);
    return 0;
}

/* exit and exit_group, which never reach sys_exit: a task that ends inside one of them still has
 * its number in orig_ax (a task killed by a signal has the number of the call it was in, or a
 * negative value from an interrupt). Attached, not dispatched: it runs once per ending thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sonde_sysmet_task_exit, struct task_struct *task)
{
    long id = ((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;
    if (!sysmet_never_returns(id) || !sonde_selected())
        return 0;
    struct sonde_sysmet_value *value = sysmet_entry(sonde_cgroup_id(), (__u32)id);
    if (value)
        value->count++;
    return 0;
}
