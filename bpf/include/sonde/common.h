/* Shared by every sonde BPF program: the event header, container selection by cgroup id, loss
 * accounting and the output ring buffer. User space reads the same layouts (see Sources/Gadgets). */
#ifndef SONDE_COMMON_H
#define SONDE_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sonde/abi.h"
#include "sonde/cgroup_key.h"

/* Set by user space between open and load. */
const volatile __u8 sonde_filter_by_cgroup = 1; /* 0: every process of the host */
const volatile __u8 sonde_track_new_cgroups = 1; /* mark cgroups created while running as pending */
/* Hosts with cgroup v1 only: bpf_get_current_cgroup_id() reports the root of the (unmounted)
 * unified hierarchy for every task there, so containers are told apart by their cgroup in the pids
 * controller's v1 hierarchy instead, whose ids user space reads under /sys/fs/cgroup/pids. */
const volatile __u8 sonde_v1_pids = 0;

/* cgroup v2 id -> SONDE_CGROUP_SELECTED or SONDE_CGROUP_PENDING. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, __u8);
} sonde_cgroups SEC(".maps");

/* Events for user space; the size is set by user space before load. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 22);
} sonde_events SEC(".maps");

/* Records that did not reach user space, by reason (SONDE_LOST_*), per CPU. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SONDE_LOST_REASONS);
    __type(key, __u32);
    __type(value, __u64);
} sonde_lost SEC(".maps");

static __always_inline void sonde_count_lost(__u32 reason)
{
    __u64 *n = bpf_map_lookup_elem(&sonde_lost, &reason);
    if (n)
        __sync_fetch_and_add(n, 1);
}

/* A task's cgroup id in the hierarchy sonde keys containers by (see sonde_v1_pids). */
static __always_inline __u64 sonde_task_cgroup_id(struct task_struct *task)
{
    if (sonde_v1_pids)
        return sonde_pids_cgroup_id(task);
    return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* The current task's, as bpf_get_current_cgroup_id() reports it on hosts with a unified hierarchy. */
static __always_inline __u64 sonde_cgroup_id(void)
{
    if (sonde_v1_pids)
        return sonde_task_cgroup_id((struct task_struct *)bpf_get_current_task());
    return bpf_get_current_cgroup_id();
}

/* The one container filter: is the current task in a selected (or pending) cgroup? */
static __always_inline bool sonde_selected(void)
{
    if (!sonde_filter_by_cgroup)
        return true;
    __u64 id = sonde_cgroup_id();
    return bpf_map_lookup_elem(&sonde_cgroups, &id) != NULL;
}

static __always_inline void sonde_fill_header(struct sonde_event_header *h, __u32 kind)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u64 uid_gid = bpf_get_current_uid_gid();

    h->timestamp_ns = bpf_ktime_get_boot_ns();
    h->cgroup_id = sonde_cgroup_id();
    h->mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
    h->kind = kind;
    h->pid = pid_tgid >> 32;
    h->tid = (__u32)pid_tgid;
    h->ppid = BPF_CORE_READ(task, real_parent, tgid);
    h->uid = (__u32)uid_gid;
    h->gid = uid_gid >> 32;
    bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* For gadgets whose events come by the hundred thousand a second (trace open): submit flags that
 * wake user space only once this much is waiting. Waking it for every record would cost an
 * irq_work here and a poll wake-up there per record whenever it has caught up; it polls at least
 * every 100 ms anyway, which bounds the delay of a trickle. */
#define SONDE_WAKEUP_BYTES (256 << 10)

static __always_inline __u64 sonde_batched_wakeup(void)
{
    return bpf_ringbuf_query(&sonde_events, BPF_RB_AVAIL_DATA) >= SONDE_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
                                                                                     : BPF_RB_NO_WAKEUP;
}

#endif
