// SPDX-License-Identifier: GPL-2.0
/* trace capabilities: every capability check (capability:cap_capable) made for a task of the
 * selected containers, with the capability, the verdict, the user namespaces involved and the
 * syscall being run. Since Linux 6.13 the tracepoint fires once per check with its final result;
 * it no longer carries the audit option (CAP_OPT_NOAUDIT), and kprobes are not available here to
 * read it elsewhere, so there is no audit field. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "capabilities.h"

char LICENSE[] SEC("license") = "GPL";

const struct sonde_capability_event *sonde_btf_capability_event __attribute__((unused));

SEC("tp_btf/cap_capable")
int BPF_PROG(sonde_cap_capable, const struct cred *cred, struct user_namespace *target_ns,
             struct user_namespace *capable_ns, int cap, int ret)
{
    if (!sonde_selected())
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct sonde_capability_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_CAPABILITY);
    e->cap = cap;
    e->ret = ret;
    /* Kernel threads have no user registers worth reading; a user task outside a syscall
     * (a page fault, say) has orig_ax -1. */
    if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */)
        e->syscall_nr = -1;
    else
        e->syscall_nr = ((struct pt_regs *)bpf_task_pt_regs(task))->orig_ax;
    e->target_userns = BPF_CORE_READ(target_ns, ns.inum);
    /* Dropping const: BPF_CORE_READ declares a temporary of the field's type. */
    e->capable_userns = capable_ns ? BPF_CORE_READ(capable_ns, ns.inum) : 0;
    e->in_init_userns = BPF_CORE_READ(target_ns, level) == 0;
    e->pad = 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}
