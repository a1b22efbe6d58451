// SPDX-License-Identifier: GPL-2.0
/* trace oomkill: the OOM killer choosing a victim (oom:mark_victim), in the context of the process
 * whose allocation ran it: the trigger. Reported when the trigger or the victim is in a selected
 * container. With a container's memory limit (a memory cgroup, v1 or v2), both are in it. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "oomkill.h"

char LICENSE[] SEC("license") = "GPL";

const struct sonde_oomkill_event *sonde_btf_oomkill_event __attribute__((unused));

/* enum mm_counter_type */
#define MM_FILEPAGES 0
#define MM_ANONPAGES 1
#define MM_SHMEMPAGES 3

/* Linux 6.1 (before 6.2) keeps the counters as atomics in a struct mm_rss_stat; libbpf matches
 * these by name without the ___old suffix, in kernels that have them. */
struct mm_rss_stat___old {
    atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
    struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 rss(struct mm_struct *mm, int member)
{
    /* What get_mm_counter() reads: the shared count, without the per-CPU deltas. The branch the
     * running kernel lacks is dropped at load (its relocation says which). */
    __s64 n;
    if (bpf_core_type_exists(struct mm_rss_stat___old))
        n = BPF_CORE_READ((struct mm_struct___old *)mm, rss_stat.count[member & 3].counter);
    else
        n = BPF_CORE_READ(mm, rss_stat[member].count);
    return n > 0 ? n : 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(sonde_mark_victim, struct task_struct *task, uid_t uid)
{
    __u64 victim_cgroup = sonde_task_cgroup_id(task);
    if (!sonde_selected() && sonde_filter_by_cgroup && !bpf_map_lookup_elem(&sonde_cgroups, &victim_cgroup))
        return 0;
    struct sonde_oomkill_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_OOMKILL);
    e->victim_pid = BPF_CORE_READ(task, tgid);
    e->victim_tid = BPF_CORE_READ(task, pid);
    e->victim_uid = uid;
    e->victim_oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
    e->victim_cgroup_id = victim_cgroup;
    struct mm_struct *mm = BPF_CORE_READ(task, mm);
    if (mm) {
        e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
        e->anon_rss_pages = rss(mm, MM_ANONPAGES);
        e->file_rss_pages = rss(mm, MM_FILEPAGES);
        e->shmem_rss_pages = rss(mm, MM_SHMEMPAGES);
    } else {
        e->total_vm_pages = e->anon_rss_pages = e->file_rss_pages = e->shmem_rss_pages = 0;
    }
    bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), task->comm);
    bpf_ringbuf_submit(e, 0);
    return 0;
}
