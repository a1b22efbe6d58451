// SPDX-License-Identifier: GPL-2.0
/* trace signal: signals sent by or to the selected containers. signal:signal_generate fires in the
 * sender's context for every signal the kernel generates (kill, tkill, tgkill, sigqueue, and the
 * kernel's own: SIGCHLD, SIGSEGV, SIGKILL from the OOM killer), with the target task and what
 * became of the signal. A kill/tkill/tgkill that fails before generating anything (ESRCH, EPERM)
 * is reported from its syscall exit instead. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "signal.h"

char LICENSE[] SEC("license") = "GPL";

const struct sonde_signal_event *sonde_btf_signal_event __attribute__((unused));

#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TKILL (-6)

/* Is the target task in a selected container? (Signals from the host to a container count.) */
static __always_inline bool target_selected(__u64 cgroup_id)
{
    if (!sonde_filter_by_cgroup)
        return true;
    return bpf_map_lookup_elem(&sonde_cgroups, &cgroup_id) != NULL;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(sonde_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
    __u64 target_cgroup = sonde_task_cgroup_id(task);
    if (!sonde_selected() && !target_selected(target_cgroup))
        return 0;
    struct sonde_signal_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_SIGNAL);
    e->error = 0;
    e->sig = sig;
    /* info may be one of the kernel's markers SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1), as the
     * tracepoint itself distinguishes. */
    if ((unsigned long)info == 0)
        e->code = SI_USER;
    else if ((unsigned long)info == 1)
        e->code = SI_KERNEL;
    else
        e->code = BPF_CORE_READ(info, si_code);
    e->target_pid = BPF_CORE_READ(task, tgid);
    e->target_tid = BPF_CORE_READ(task, pid);
    e->target_cgroup_id = target_cgroup;
    e->group = group;
    e->result = result;
    bpf_probe_read_kernel_str(e->target_comm, sizeof(e->target_comm), task->comm);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* A failed kill, tkill or tgkill: no signal was generated, so signal_generate never saw it. */
static __always_inline int failed_call(long ret, bool thread_directed, bool tgkill)
{
    if (ret >= 0 || !sonde_selected())
        return 0;
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    struct sonde_signal_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_SIGNAL);
    e->error = ret;
    /* kill(pid, sig), tkill(tid, sig), tgkill(tgid, tid, sig): di, si, dx on x86_64. */
    if (tgkill) {
        e->target_pid = regs->di;
        e->target_tid = regs->si;
        e->sig = regs->dx;
    } else {
        e->target_pid = regs->di;
        e->target_tid = thread_directed ? e->target_pid : 0;
        e->sig = regs->si;
    }
    e->code = thread_directed ? SI_TKILL : SI_USER;
    e->target_cgroup_id = 0;
    e->group = !thread_directed;
    e->result = SONDE_SIGNAL_SYSCALL_FAILED;
    e->target_comm[0] = 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_kill")
int sonde_exit_kill(struct trace_event_raw_sys_exit *ctx)
{
    return failed_call(ctx->ret, false, false);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int sonde_exit_tkill(struct trace_event_raw_sys_exit *ctx)
{
    return failed_call(ctx->ret, true, false);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int sonde_exit_tgkill(struct trace_event_raw_sys_exit *ctx)
{
    return failed_call(ctx->ret, true, true);
}
