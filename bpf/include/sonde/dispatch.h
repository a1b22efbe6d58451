/* The syscall dispatcher's ABI (bpf/dispatch.bpf.c <-> its consumers <-> Sources/BPFKit/
 * SyscallDispatcher.swift). One sys_enter/sys_exit program pair serves the whole node: it answers
 * "nothing to do for this task" from a task cache and otherwise tail-calls the consumers that
 * want the task's cgroup (the recorder, syscall metrics, advise, start-up timelines...), each of
 * which tail-calls the next. A consumer is a program of its own object, loaded with these maps
 * reused from their pins (user space sets the pin paths), placed in the program arrays at its
 * slot; it is never attached. traceloop's per-cgroup tail calls are the model.
 *
 * Included by the dispatcher and by every consumer: the maps below must be declared identically
 * in each object for libbpf to reuse the pinned ones. */
#ifndef SONDE_DISPATCH_H
#define SONDE_DISPATCH_H

#define SONDE_DISPATCH_SLOTS 16
#define SONDE_DISPATCH_FILTER_SIZE 65536
#define SONDE_DISPATCH_FILTER_MASK (SONDE_DISPATCH_FILTER_SIZE - 1)

/* interest[key & MASK]: the slots (bit i = slot i) that want the cgroup `key`. A slot whose key is
 * another live cgroup's (a collision) sends the lookup to sonde_dispatch_overflow. Claimed with a
 * compare-and-swap on `key`, bits set and cleared with atomics, by programs and by user space
 * (the array is mmapped there), so no writer can undo another's. Freed when the cgroup is removed. */
struct sonde_dispatch_entry {
    __u64 key;
    __u64 mask;
};

struct sonde_dispatch_config {
    __u32 generation; /* bumped by user space after it adds interest in a cgroup that has tasks,
                       * or a program at entry */
    __u32 moved;      /* bumped by the programs when a multi-threaded process changes cgroup */
    __u64 all_mask;   /* slots that want every task of the node */
    __u64 enter_mask; /* slots with a program at entry (others want exits only) */
};

/* What the dispatcher tells the consumers it calls (per CPU; programs on the syscall
 * tracepoints do not nest on a CPU, so one entry per direction is enough). */
struct sonde_dispatch_context {
    __u64 key;      /* the task's cgroup id (the pids v1 cgroup's on hosts without cgroup v2) */
    __u64 mask;     /* the slots that want this call */
    __u32 tgid;     /* read once here: consumers need no helper call for the current task */
    __u32 pid;
    __u64 task;     /* the task's identity: its pt_regs address >> 14, unique among live tasks */
    __u32 task_index; /* a hash of `task` into SONDE_DISPATCH_TASK_SLOTS */
    __u32 reserved;
    __u64 now_ns;   /* CLOCK_BOOTTIME, read by the first consumer that needs it (0: not yet) */
};

/* Per-task tables of consumers (calls in flight) are indexed by task_index. */
#define SONDE_DISPATCH_TASK_SHIFT 16
#define SONDE_DISPATCH_TASK_SLOTS (1 << SONDE_DISPATCH_TASK_SHIFT)

#define SONDE_DISPATCH_ENTER 0
#define SONDE_DISPATCH_EXIT 1

#ifdef __BPF__

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SONDE_DISPATCH_FILTER_SIZE);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sonde_dispatch_entry);
} sonde_dispatch_interest SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, __u64);
} sonde_dispatch_overflow SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sonde_dispatch_config);
} sonde_dispatch_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct sonde_dispatch_context);
} sonde_dispatch_context SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, SONDE_DISPATCH_SLOTS);
    __type(key, __u32);
    __type(value, __u32);
} sonde_dispatch_enter_progs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, SONDE_DISPATCH_SLOTS);
    __type(key, __u32);
    __type(value, __u32);
} sonde_dispatch_exit_progs SEC(".maps");

/* Tail-calls the lowest slot of `mask` whose program is there; returns only when none is. Each
 * key is a constant, so the JIT patches a direct jump instead of an indirect one (a retpoline). */
static __always_inline void sonde_dispatch_chain(void *ctx, void *progs, __u64 mask)
{
#pragma unroll
    for (int i = 0; i < SONDE_DISPATCH_SLOTS; i++)
        if (mask & (1ULL << i))
            bpf_tail_call(ctx, progs, i);
}

/* Marks the cgroup `key` as wanted by the slots in `bits` (from a consumer's cgroup_mkdir program:
 * a new cgroup is wanted before any task can join it). */
static __always_inline void sonde_dispatch_want(__u64 key, __u64 bits)
{
    __u32 index = key & SONDE_DISPATCH_FILTER_MASK;
    struct sonde_dispatch_entry *e = bpf_map_lookup_elem(&sonde_dispatch_interest, &index);
    if (!e)
        return;
    __u64 owner = __sync_val_compare_and_swap(&e->key, 0, key);
    if (owner == 0 || owner == key) {
        __sync_fetch_and_or(&e->mask, bits);
        return;
    }
    __u64 *mask = bpf_map_lookup_elem(&sonde_dispatch_overflow, &key);
    if (!mask) {
        __u64 none = 0;
        bpf_map_update_elem(&sonde_dispatch_overflow, &key, &none, BPF_NOEXIST);
        mask = bpf_map_lookup_elem(&sonde_dispatch_overflow, &key);
    }
    if (mask)
        __sync_fetch_and_or(mask, bits);
}

/* The slots in `bits` no longer want the cgroup `key` (a consumer done with it). */
static __always_inline void sonde_dispatch_unwant(__u64 key, __u64 bits)
{
    __u32 index = key & SONDE_DISPATCH_FILTER_MASK;
    struct sonde_dispatch_entry *e = bpf_map_lookup_elem(&sonde_dispatch_interest, &index);
    if (e && *(volatile __u64 *)&e->key == key) {
        __sync_fetch_and_and(&e->mask, ~bits);
        return;
    }
    __u64 *mask = bpf_map_lookup_elem(&sonde_dispatch_overflow, &key);
    if (mask)
        __sync_fetch_and_and(mask, ~bits);
}

#endif /* __BPF__ */
#endif
