// SPDX-License-Identifier: GPL-2.0
/* The syscall dispatcher: the node's one program pair on sys_enter and sys_exit (ABI and protocol
 * in sonde/dispatch.h). Every syscall of every process comes here; what a process that no consumer
 * wants pays, once it is in the task cache, is two inlined array lookups and a compare per
 * program. A wanted task pays, once its facts (cgroup id, pid, tgid) are remembered, three inlined
 * array lookups and is tail-called into the consumers that want the call; a miss costs one helper
 * call (the current task) and four loads to its cgroup id. A task whose consumers only want exits
 * pays the unwanted price at entry. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sonde/cgroup_key.h"
#include "sonde/dispatch.h"

char LICENSE[] SEC("license") = "GPL";

/* Hosts with cgroup v1 only: containers are told apart by their cgroup in the pids controller's
 * v1 hierarchy (bpf_get_current_cgroup_id() reports the unified root for every task there). */
const volatile __u8 key_by_v1_pids = 0;

/* The task cache: "no consumer wants this task" by task, one word per slot, indexed by a hash of
 * the task's pt_regs address (the top of its kernel stack: unique among live tasks and known to
 * the syscall tracepoints without a helper call). A word holds the stack's identity (bits 14..53
 * of that address's distance to a fixed one: stacks are 16 KiB aligned, so two stacks never share
 * those bits), ENTRIES_UNWANTED (bit 23) and the generation (low 23 bits) under which the answer
 * was found. One word, so concurrent writers can never leave a torn pair. Cleared for a task when
 * it is created (its stack may be a dead task's) and when it moves to another cgroup. */
#define TASK_CACHE_SHIFT SONDE_DISPATCH_TASK_SHIFT
#define TASK_CACHE_SIZE SONDE_DISPATCH_TASK_SLOTS
#define GENERATION_MASK 0x7fffffu
/* In a cached word: the task's exits are wanted, its entries by nobody (its consumers have no
 * program at entry: syscall metrics without latency, start-up timelines). Its entries then cost
 * what an unwanted task's do; its exits take the full path, which never caches. */
#define ENTRIES_UNWANTED (1u << 23)

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, TASK_CACHE_SIZE);
    __type(key, __u32);
    __type(value, __u64);
} sonde_dispatch_task_cache SEC(".maps");

/* What a wanted task's calls need of the task, remembered under the same word (stack identity and
 * generation) as the "no" answers, so a wanted task's later calls skip the helper call for the
 * current task too. Four words that two tasks sharing a slot may write at once on two CPUs: the
 * check (a mix of the other three) tells a torn entry from a whole one. */
struct task_facts {
    __u64 word;
    __u64 key;
    __u64 ids; /* tgid << 32 | pid */
    __u64 check;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, TASK_CACHE_SIZE);
    __type(key, __u32);
    __type(value, struct task_facts);
} sonde_dispatch_task_facts SEC(".maps");

static __always_inline __u64 facts_check(__u64 word, __u64 key, __u64 ids)
{
    return (word * 0x9e3779b97f4a7c15ULL) ^ (key * 0xc2b2ae3d27d4eb4fULL) ^ (ids * 0x165667b19e3779f9ULL) ^ 0x27d4eb2f165667c5ULL;
}

/* Keeps the ABI types in BTF for user space's layout check. */
const struct sonde_dispatch_entry *sonde_btf_dispatch_entry __attribute__((unused));
const struct sonde_dispatch_config *sonde_btf_dispatch_config __attribute__((unused));
const struct sonde_dispatch_context *sonde_btf_dispatch_context __attribute__((unused));

/* What bpf_get_current_cgroup_id() returns, read through BTF: the helper call costs more (with
 * this kernel's return thunks every helper call costs tens of nanoseconds). */
static __always_inline __u64 task_key(struct task_struct *task)
{
    if (key_by_v1_pids)
        return sonde_pids_cgroup_id(task);
    return task->cgroups->dfl_cgrp->kn->id;
}

static __always_inline bool keyed_hierarchy(struct cgroup *cgrp)
{
    return sonde_keyed_hierarchy(cgrp, key_by_v1_pids);
}

/* A task's pt_regs address as a number. The verifier allows no arithmetic on a kernel pointer but
 * one: the difference of two pointers (to a privileged program), which is a plain number. The
 * other pointer is a fixed address (this object's .rodata), so the difference keeps the
 * addresses' spacing: stacks 16 KiB apart stay 16 KiB apart. */
static __always_inline __u64 regs_number(const void *regs)
{
    __u64 number = (__u64)regs;
    asm volatile("%0 -= %1" : "+r"(number) : "r"(&key_by_v1_pids));
    return number;
}

static __always_inline __u32 task_cache_index(__u64 regs)
{
    return ((regs >> 14) * 0x9e3779b97f4a7c15ULL) >> (64 - TASK_CACHE_SHIFT);
}

/* The slots that want the current call (0: none), told to the consumers through the context. */
static __always_inline __u64 wanted(const void *regs, __u32 direction)
{
    __u32 zero = 0;
    struct sonde_dispatch_config *config = bpf_map_lookup_elem(&sonde_dispatch_config, &zero);
    if (!config)
        return 0;
    /* The generation is read before the interest: interest added after this read comes with a
     * bump, so an answer remembered under this generation goes stale. */
    __u32 generation = *(volatile __u32 *)&config->generation + *(volatile __u32 *)&config->moved;
    __u64 all = *(volatile __u64 *)&config->all_mask;
    /* The slots this direction can call: at exit every one (a consumer without an exit program
     * costs a failed tail call), at entry those with a program there. */
    __u64 callable = direction == SONDE_DISPATCH_ENTER ? *(volatile __u64 *)&config->enter_mask : ~0ULL;
    asm volatile("" ::: "memory");
    __u64 number = regs_number(regs);
    __u32 index = task_cache_index(number);
    __u64 *cached = bpf_map_lookup_elem(&sonde_dispatch_task_cache, &index);
    __u64 word = ((number >> 14) << 24) | (generation & GENERATION_MASK);
    if (!(all & callable) && cached) {
        __u64 answer = *cached;
        if (answer == word || (direction == SONDE_DISPATCH_ENTER && answer == (word | ENTRIES_UNWANTED)))
            return 0;
    }

    __u64 key, ids;
    struct task_facts *facts = bpf_map_lookup_elem(&sonde_dispatch_task_facts, &index);
    bool known = false;
    if (facts && facts->word == word) {
        key = facts->key;
        ids = facts->ids;
        known = facts->check == facts_check(word, key, ids);
    }
    if (!known) {
        struct task_struct *task = bpf_get_current_task_btf();
        key = task_key(task);
        ids = ((__u64)task->tgid << 32) | (__u32)task->pid;
    }
    __u64 mask = all;
    __u32 slot = key & SONDE_DISPATCH_FILTER_MASK;
    struct sonde_dispatch_entry *e = bpf_map_lookup_elem(&sonde_dispatch_interest, &slot);
    if (e) {
        __u64 owner = *(volatile __u64 *)&e->key;
        if (owner == key) {
            mask |= *(volatile __u64 *)&e->mask;
        } else if (owner != 0) {
            __u64 *more = bpf_map_lookup_elem(&sonde_dispatch_overflow, &key); /* a collision: rare */
            if (more)
                mask |= *more;
        }
    }
    if (!mask) {
        if (cached)
            *cached = word;
        return 0;
    }
    if (!(mask & callable)) { /* only at entry */
        if (cached)
            *cached = word | ENTRIES_UNWANTED;
        return 0;
    }
    if (!known && facts) {
        facts->word = 0; /* not valid while being written */
        facts->key = key;
        facts->ids = ids;
        facts->check = facts_check(word, key, ids);
        facts->word = word;
    }
    struct sonde_dispatch_context *d = bpf_map_lookup_elem(&sonde_dispatch_context, &direction);
    if (!d)
        return 0;
    d->key = key;
    d->mask = mask;
    d->tgid = ids >> 32;
    d->pid = (__u32)ids;
    d->task = number >> 14;
    d->task_index = index;
    d->now_ns = 0;
    return mask;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sonde_sys_enter, struct pt_regs *regs, long id)
{
    __u64 mask = wanted(regs, SONDE_DISPATCH_ENTER);
    if (mask)
        sonde_dispatch_chain(ctx, &sonde_dispatch_enter_progs, mask);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sonde_sys_exit, struct pt_regs *regs, long ret)
{
    __u64 mask = wanted(regs, SONDE_DISPATCH_EXIT);
    if (mask)
        sonde_dispatch_chain(ctx, &sonde_dispatch_exit_progs, mask);
    return 0;
}

/* The task cache's invalidations: a new task may have a dead task's stack (and so its slot and
 * word), and a task that moves to another cgroup may now be wanted (and has another key). Both run before the task's
 * next syscall: a new task does not run before it is woken, and a task moved by another one
 * (runc moves its child while the child waits on a pipe) is moved before this tracepoint fires. */
static __always_inline void forget_task(struct task_struct *task)
{
    __u32 index = task_cache_index(regs_number((const void *)bpf_task_pt_regs(task)));
    __u64 *slot = bpf_map_lookup_elem(&sonde_dispatch_task_cache, &index);
    if (slot)
        *slot = 0;
    struct task_facts *facts = bpf_map_lookup_elem(&sonde_dispatch_task_facts, &index);
    if (facts)
        facts->word = 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(sonde_dispatch_newtask, struct task_struct *task, unsigned long clone_flags)
{
    forget_task(task);
    return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(sonde_dispatch_attach, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
             bool threadgroup)
{
    forget_task(task);
    /* cgroup.procs moves every thread but the tracepoint names the leader only, and walking the
     * other threads needs the task iterator kfuncs (Linux 6.7+): make every cached answer stale.
     * Moves of whole multi-threaded processes are rare. */
    if (threadgroup && task->signal->nr_threads > 1) {
        __u32 zero = 0;
        struct sonde_dispatch_config *config = bpf_map_lookup_elem(&sonde_dispatch_config, &zero);
        if (config)
            __sync_fetch_and_add(&config->moved, 1);
    }
    return 0;
}

/* An exec by a thread other than the leader gives it the leader's pid: what was remembered of it
 * is wrong from then on. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sonde_dispatch_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    forget_task(p);
    return 0;
}

/* A removed cgroup has no task left: its interest entry is freed for the next cgroup. Cgroup ids
 * are never reused while the system runs, so no later cgroup inherits its bits. */
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(sonde_dispatch_rmdir, struct cgroup *cgrp, const char *path)
{
    if (!keyed_hierarchy(cgrp))
        return 0;
    __u64 key = cgrp->kn->id;
    __u32 index = key & SONDE_DISPATCH_FILTER_MASK;
    struct sonde_dispatch_entry *e = bpf_map_lookup_elem(&sonde_dispatch_interest, &index);
    if (e && *(volatile __u64 *)&e->key == key) {
        __sync_lock_test_and_set(&e->mask, 0);
        __sync_val_compare_and_swap(&e->key, key, 0);
        return 0;
    }
    bpf_map_delete_elem(&sonde_dispatch_overflow, &key);
    return 0;
}
