// SPDX-License-Identifier: GPL-2.0
/* Syscall metrics: per container (cgroup v2 id) and syscall, the calls, the failed calls and a
 * log2 histogram of their latency, counted in the kernel in a per-CPU table. No events: user
 * space reads the table when it wants (sonde top syscalls, the daemon's Prometheus endpoint).
 *
 * These programs run on every syscall of every process, so each helper call counts: with this
 * kernel's mitigations (retpolines, SRSO return thunks) one costs 15-50 ns (bench/README.md).
 * A process that is not selected pays, at entry, the current task (one helper), four loads to its
 * cgroup id and the shared filter's lookup; at exit, the current task and an empty task-storage
 * lookup. A selected call adds a clock read at each end and the table's lookup at exit. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "syscall_metrics.h"

char LICENSE[] SEC("license") = "GPL";

#define SYSMET_NR_EXIT 60
#define SYSMET_NR_EXIT_GROUP 231

/* The call in flight of a selected task, from entry to exit. Task storage rather than a hash by
 * tid: found from the task pointer without hashing, and freed with the task. */
struct sysmet_inflight {
    __u64 start_ns;  /* 0: nothing in flight */
    __u64 cgroup_id;
    __u32 nr;
    __u32 reserved;
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
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

SEC("tp_btf/sys_enter")
int BPF_PROG(sonde_sysmet_enter, struct pt_regs *regs, long id)
{
    struct task_struct *task = bpf_get_current_task_btf();
    /* What bpf_get_current_cgroup_id() returns, read through BTF: the helper call costs more. */
    __u64 cgroup_id = sonde_v1_pids ? sonde_task_cgroup_id(task) : task->cgroups->dfl_cgrp->kn->id;
    if (sonde_filter_by_cgroup && !bpf_map_lookup_elem(&sonde_cgroups, &cgroup_id))
        return 0;
    if (id == SYSMET_NR_EXIT || id == SYSMET_NR_EXIT_GROUP) {
        /* They never return: counted now, with no latency. */
        struct sonde_sysmet_value *value = sysmet_entry(cgroup_id, (__u32)id);
        if (value)
            value->count++;
        return 0;
    }
    struct sysmet_inflight *call = bpf_task_storage_get(&sysmet_inflight, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!call) {
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
        return 0;
    }
    call->cgroup_id = cgroup_id;
    call->nr = (__u32)id;
    call->start_ns = bpf_ktime_get_ns();
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sonde_sysmet_exit, struct pt_regs *regs, long ret)
{
    struct task_struct *task = bpf_get_current_task_btf();
    /* Without F_CREATE this finds nothing, cheaply, for every task never selected. */
    struct sysmet_inflight *call = bpf_task_storage_get(&sysmet_inflight, task, NULL, 0);
    if (!call || !call->start_ns)
        return 0;
    __u64 latency = bpf_ktime_get_ns() - call->start_ns;
    call->start_ns = 0;
    struct sonde_sysmet_value *value = sysmet_entry(call->cgroup_id, call->nr);
    if (!value)
        return 0;
    value->count++;
    if (ret < 0)
        value->errors++;
    value->latency_ns += latency;
    __u32 bucket = sysmet_bucket(latency);
    if (bucket < SONDE_SYSMET_BUCKETS)
        value->buckets[bucket]++;
    return 0;
}
