// SPDX-License-Identifier: GPL-2.0
/* The flight recorder: every syscall of every recorded container (cgroup), entry and exit,
 * with the memory behind pointer arguments, into that container's overwritable per-CPU rings
 * (layout and protocol in recorder.h). Nothing is read until someone dumps.
 *
 * Cost matters more than anything here. The syscall programs are consumers of the node's syscall
 * dispatcher (bpf/dispatch.bpf.c): they run only for the calls of cgroups the recorder asked the
 * dispatcher for, so a process that is not recorded pays the dispatcher's cached "no" and nothing
 * of this file. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sonde/cgroup_key.h"
#include "sonde/dispatch_consumer.h"
#include "recorder.h"

char LICENSE[] SEC("license") = "GPL";

/* Keeps the compiler from moving loads and stores across it (ordering that the code relies on). */
#define sonde_barrier() asm volatile("" ::: "memory")

/* Bounds a length for the verifier right where a helper takes it: Linux 6.1's verifier loses the
 * bound of a value spilled across an earlier helper call, and the compiler would drop a plain `&`
 * it can prove changes nothing. */
#define sonde_bound(len, mask) asm volatile("%0 &= " #mask : "+r"(len))

/* Without a unified cgroup hierarchy, containers are told apart by mount namespace instead. */
const volatile __u8 key_by_mntns = 0;

/* Hosts with cgroup v1 only: containers are told apart by their cgroup in the pids controller's
 * v1 hierarchy (bpf_get_current_cgroup_id() reports the unified root for every task there). */
const volatile __u8 key_by_v1_pids = 0;

/* Whether sched_process_exit passes group_dead (newer kernels); set by user space from the
 * kernel's BTF. Linux 6.1's tracepoint has the task only. */
const volatile __u8 exit_has_group_dead = 1;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SONDE_REC_FILTER_SIZE);
    __type(key, __u32);
    __type(value, struct sonde_rec_filter_entry);
} rec_filter SEC(".maps");

/* Recorded containers: key (cgroup v2 id, or mount namespace id) -> settings. Authoritative; the
 * filter array above caches it for the per-syscall path. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct sonde_rec_target);
} rec_targets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sonde_rec_config);
} rec_config SEC(".maps");

/* Slots whose rings (of class new_size_class) wait for a new cgroup; user space refills it. */
struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __uint(max_entries, 256);
    __type(value, __u32);
} rec_free_slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 18);
} rec_notices SEC(".maps");

/* What to capture per syscall number, written by user space from its syscall table. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SONDE_REC_MAX_SYSCALLS);
    __type(key, __u32);
    __type(value, struct sonde_syscall_schema);
} rec_schema SEC(".maps");

/* A record is built here, then copied into the ring at its reserved place. A program does not
 * run twice at once on one CPU (the kernel skips a nested run), so each program has its own. */
struct scratch {
    union {
        struct sonde_rec_enter enter;
        struct sonde_rec_exit exit;
        __u8 bytes[SONDE_REC_MAX_RECORD];
    };
    /* Room past the end so that every bounded write at an offset below DATA_MAX fits. */
    __u8 overflow[SONDE_REC_STRING_MAX + 16];
    /* The exit program's copy of the argument registers. */
    __u64 args[6];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} enter_scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} exit_scratch SEC(".maps");

/* The records of the signal_deliver and sched_process_exit programs below, which run in task
 * context and never on top of each other on a CPU (signal_deliver with interrupts off), so they
 * share one. signal_generate, which interrupts may run, builds its small record on its stack. */
struct event_scratch {
    struct sonde_rec_stack record;
    char slack[64]; /* the verifier's bound of a path component's copy may run past the last mapping */
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct event_scratch);
} event_scratch SEC(".maps");

/* One ring type and one outer map per size class (the verifier checks every access against the
 * element size, so each class gets its own constant-size code path). */
#define SONDE_RING(class)                                                                         \
    struct sonde_ring_c##class {                                                                  \
        struct sonde_ring_header h;                                                               \
        __u64 checkpoints[SONDE_REC_RING_SIZE(class) >> SONDE_REC_PAGE_SHIFT];                    \
        __u8 data[SONDE_REC_RING_SIZE(class) + SONDE_REC_MAX_RECORD];                             \
    };                                                                                            \
    struct {                                                                                      \
        __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); /* by slot: the lookup is inlined */          \
        __uint(max_entries, SONDE_REC_MAX_SLOTS);                                                 \
        __type(key, __u32);                                                                       \
        __array(values, struct {                                                                  \
            __uint(type, BPF_MAP_TYPE_ARRAY);                                                     \
            /* One ring per possible CPU, set by user space before load. Every inner map has  \
             * that size (no BPF_F_INNER_MAP), so the verifier inlines the lookup by CPU. */     \
            __uint(max_entries, 1);                                                               \
            __uint(map_flags, BPF_F_MMAPABLE);                                                    \
            __type(key, __u32);                                                                   \
            __type(value, struct sonde_ring_c##class);                                            \
        });                                                                                       \
    } rec_rings_c##class SEC(".maps");                                                           \
    /* Keeps the ring type in BTF for user space's layout check. */                              \
    const struct sonde_ring_c##class *sonde_btf_ring_c##class __attribute__((unused));

SONDE_RING(0)
SONDE_RING(1)
SONDE_RING(2)
SONDE_RING(3)
SONDE_RING(4)

/* Keeps the record types in BTF for user space's layout check. */
const struct sonde_rec_enter *sonde_btf_rec_enter __attribute__((unused));
const struct sonde_rec_exit *sonde_btf_rec_exit __attribute__((unused));
const struct sonde_rec_chunk *sonde_btf_rec_chunk __attribute__((unused));
const struct sonde_syscall_schema *sonde_btf_schema __attribute__((unused));
const struct sonde_rec_target *sonde_btf_target __attribute__((unused));
const struct sonde_rec_config *sonde_btf_config __attribute__((unused));
const struct sonde_rec_filter_entry *sonde_btf_filter_entry __attribute__((unused));
const struct sonde_ring_header *sonde_btf_ring_header __attribute__((unused));
const struct sonde_rec_signal *sonde_btf_rec_signal __attribute__((unused));
const struct sonde_rec_thread_exit *sonde_btf_rec_thread_exit __attribute__((unused));
const struct sonde_rec_stack *sonde_btf_rec_stack __attribute__((unused));

/* What bpf_get_current_cgroup_id() returns, read through BTF: the helper call costs more. Each
 * program asks for the current task once and passes it on: with this kernel's return thunks
 * (SRSO "Safe RET") every helper call costs tens of nanoseconds. */
static __always_inline __u64 task_key(struct task_struct *task)
{
    if (key_by_mntns)
        return task->nsproxy->mnt_ns->ns.inum;
    if (key_by_v1_pids)
        return sonde_pids_cgroup_id(task);
    return task->cgroups->dfl_cgrp->kn->id;
}

/* Whether a cgroup is in the hierarchy containers are keyed by: the unified one (id 0), or the
 * pids controller's. Ids of different hierarchies may be equal. */
static __always_inline bool keyed_hierarchy(struct cgroup *cgrp)
{
    return sonde_keyed_hierarchy(cgrp, key_by_v1_pids);
}

static __always_inline struct sonde_rec_target *find_target(__u64 key)
{
    __u32 index = key & SONDE_REC_FILTER_MASK;
    struct sonde_rec_filter_entry *entry = bpf_map_lookup_elem(&rec_filter, &index);
    if (!entry || entry->key == 0)
        return NULL;
    if (entry->key == key)
        return &entry->target;
    return bpf_map_lookup_elem(&rec_targets, &key); /* a collision: rare, and still right */
}

/* The time of the entry record just before `start` in this ring when it is this thread's entry
 * of the same syscall (nothing else ran in between on this CPU), else 0. */
static __always_inline __u64 entry_time(struct sonde_ring_header *h, __u8 *data, __u32 ring_mask, __u64 start,
                                        __u32 tid, __u16 nr)
{
    __u64 last = h->last_enter;
    struct sonde_rec_header *entry = (void *)&data[last & ring_mask];
    if (last + entry->size != start || entry->position != (__u32)last || entry->type != SONDE_REC_ENTER ||
        entry->nr != nr || entry->tid != tid)
        return 0;
    return entry->timestamp_ns;
}

/* A ring has one writer at a time: it is this CPU's, and the dispatcher's programs run with
 * preemption off and never nest on a CPU (syscall tracepoints do not fire from interrupts). So
 * the head and counters are plain loads and stores: a locked instruction costs as much as the
 * rest of an in-place record. The one writer that may interrupt another is the signal_generate
 * program (interrupts send signals: timers, I/O): `busy` tells it to keep off (ring_busy). An
 * interrupt sees this CPU's own stores in program order, so compiler barriers are enough. */
static __always_inline __u64 ring_reserve(struct sonde_ring_header *h, __u32 size)
{
    h->busy = 1;
    sonde_barrier();
    __u64 start = h->head;
    h->head = start + size;
    return start;
}

static __always_inline void ring_done(struct sonde_ring_header *h)
{
    sonde_barrier();
    h->busy = 0;
}

/* The exit's time: one a consumer before this one already read, else its entry's when the entry
 * is the record just before it in this ring, else the clock's. */
static __always_inline __u64 exit_time(struct sonde_dispatch_context *d, __u64 entry, __u16 *flags)
{
    *flags = 0;
    if (d->now_ns)
        return d->now_ns;
    if (entry) {
        *flags = SONDE_REC_ENTRY_TIME;
        return entry;
    }
    return sonde_dispatch_now(d);
}

/* Reserve, copy, commit; see recorder.h for why each step is as it is. */
static __always_inline void ring_commit(struct sonde_dispatch_context *d, struct sonde_ring_header *h,
                                        __u64 *checkpoints, __u8 *data, __u32 ring_mask, __u32 page_mask,
                                        void *record, __u32 size)
{
    __u64 start = ring_reserve(h, size);
    __u32 off = start & ring_mask;
    struct sonde_rec_header *rec = record;

    /* Not yet valid at its place: the reader requires position == its start. */
    rec->position = (__u32)start + 1;
    if (size >= SONDE_REC_MAX_RECORD) {
        ring_done(h);
        return;
    }
    if (d && rec->type == SONDE_REC_EXIT) { /* d: NULL for records of other programs */
        __u16 flags;
        rec->timestamp_ns = exit_time(d, entry_time(h, data, ring_mask, start, rec->tid, rec->nr), &flags);
        rec->flags = flags;
    }
    sonde_bound(size, 8191); /* below SONDE_REC_MAX_RECORD, checked above */
    bpf_probe_read_kernel(&data[off], size, record);
    /* The commit mark, stored after the record's bytes (x86 keeps stores in order). */
    ((struct sonde_rec_header *)&data[off])->position = (__u32)start;
    h->written++;
    if (rec->type == SONDE_REC_ENTER)
        h->last_enter = start;

    __u64 end = start + size;
    if ((start >> SONDE_REC_PAGE_SHIFT) != (end >> SONDE_REC_PAGE_SHIFT))
        checkpoints[(end >> SONDE_REC_PAGE_SHIFT) & page_mask] = end;
    ring_done(h);
}

#define SONDE_WRITE_CLASS(class)                                                                  \
    static __always_inline void write_c##class(struct sonde_dispatch_context *d, __u32 *slot, void *record, __u32 size) \
    {                                                                                             \
        void *inner = bpf_map_lookup_elem(&rec_rings_c##class, slot);                            \
        if (!inner)                                                                               \
            return;                                                                               \
        __u32 cpu = bpf_get_smp_processor_id();                                                   \
        struct sonde_ring_c##class *ring = bpf_map_lookup_elem(inner, &cpu);                     \
        if (!ring)                                                                                \
            return;                                                                               \
        /* Only writers outside the dispatcher (d NULL) can find the ring busy: an interrupt's. */ \
        if (size >= SONDE_REC_MAX_RECORD || (!d && ring->h.busy)) {                                \
            ring->h.dropped++;                                                                    \
            return;                                                                               \
        }                                                                                         \
        ring_commit(d, &ring->h, ring->checkpoints, ring->data, SONDE_REC_RING_SIZE(class) - 1,   \
                    (SONDE_REC_RING_SIZE(class) >> SONDE_REC_PAGE_SHIFT) - 1, record, size);      \
    }

SONDE_WRITE_CLASS(0)
SONDE_WRITE_CLASS(1)
SONDE_WRITE_CLASS(2)
SONDE_WRITE_CLASS(3)
SONDE_WRITE_CLASS(4)

/* The six argument registers of the x86_64 syscall convention. */
static __always_inline void copy_args(__u64 *args, struct pt_regs *regs)
{
    args[0] = regs->di;
    args[1] = regs->si;
    args[2] = regs->dx;
    args[3] = regs->r10;
    args[4] = regs->r8;
    args[5] = regs->r9;
}

/* Records with no captured memory (most calls) are written in place: no scratch, no copy. */
static __always_inline void fill_in_place(struct sonde_rec_header *h, struct sonde_dispatch_context *d, __u32 start,
                                          __u16 size, __u8 type, __u16 nr, __u64 timestamp, __u16 flags)
{
    h->position = start + 1; /* not yet valid */
    h->size = size;
    h->type = type;
    h->nchunks = 0;
    h->nr = nr;
    h->flags = flags;
    h->pid = d->tgid;
    h->tid = d->pid;
    h->reserved = 0;
    h->timestamp_ns = timestamp;
}

static __always_inline void finish_in_place(struct sonde_ring_header *h, __u64 *checkpoints, __u32 page_mask,
                                            struct sonde_rec_header *rec, __u64 start, __u32 size)
{
    sonde_barrier();
    rec->position = (__u32)start; /* the commit mark, after every other store */
    h->written++;
    __u64 end = start + size;
    if ((start >> SONDE_REC_PAGE_SHIFT) != (end >> SONDE_REC_PAGE_SHIFT))
        checkpoints[(end >> SONDE_REC_PAGE_SHIFT) & page_mask] = end;
    ring_done(h);
}

#define SONDE_IN_PLACE_CLASS(class)                                                               \
    static __always_inline struct sonde_ring_c##class *ring_c##class(__u32 slot)                 \
    {                                                                                             \
        void *inner = bpf_map_lookup_elem(&rec_rings_c##class, &slot);                           \
        if (!inner)                                                                               \
            return NULL;                                                                          \
        __u32 cpu = bpf_get_smp_processor_id();                                                   \
        return bpf_map_lookup_elem(inner, &cpu);                                                  \
    }                                                                                             \
    static __always_inline void enter_in_place_c##class(__u32 slot, struct sonde_dispatch_context *d, \
                                                        struct pt_regs *regs, long id)           \
    {                                                                                             \
        struct sonde_ring_c##class *ring = ring_c##class(slot);                                  \
        if (!ring)                                                                                \
            return;                                                                               \
        __u32 size = sizeof(struct sonde_rec_enter);                                              \
        __u64 start = ring_reserve(&ring->h, size);                                               \
        struct sonde_rec_enter *e =                                                               \
            (void *)&ring->data[start & (SONDE_REC_RING_SIZE(class) - 1)];                        \
        fill_in_place(&e->hdr, d, start, size, SONDE_REC_ENTER, id, sonde_dispatch_now(d), 0);   \
        copy_args(e->args, regs);                                                                 \
        ring->h.last_enter = start;                                                               \
        finish_in_place(&ring->h, ring->checkpoints,                                              \
                        (SONDE_REC_RING_SIZE(class) >> SONDE_REC_PAGE_SHIFT) - 1, &e->hdr, start, size); \
    }                                                                                             \
    static __always_inline void exit_in_place_c##class(__u32 slot, struct sonde_dispatch_context *d, \
                                                       __u16 nr, long ret)                        \
    {                                                                                             \
        struct sonde_ring_c##class *ring = ring_c##class(slot);                                  \
        if (!ring)                                                                                \
            return;                                                                               \
        __u32 size = sizeof(struct sonde_rec_exit);                                               \
        __u64 start = ring_reserve(&ring->h, size);                                               \
        struct sonde_rec_exit *x =                                                                \
            (void *)&ring->data[start & (SONDE_REC_RING_SIZE(class) - 1)];                        \
        __u16 flags;                                                                              \
        __u64 time = exit_time(d, entry_time(&ring->h, ring->data, SONDE_REC_RING_SIZE(class) - 1, \
                                             start, d->pid, nr), &flags);                         \
        fill_in_place(&x->hdr, d, start, size, SONDE_REC_EXIT, nr, time, flags);                  \
        x->ret = ret;                                                                             \
        finish_in_place(&ring->h, ring->checkpoints,                                              \
                        (SONDE_REC_RING_SIZE(class) >> SONDE_REC_PAGE_SHIFT) - 1, &x->hdr, start, size); \
    }

SONDE_IN_PLACE_CLASS(0)
SONDE_IN_PLACE_CLASS(1)
SONDE_IN_PLACE_CLASS(2)
SONDE_IN_PLACE_CLASS(3)
SONDE_IN_PLACE_CLASS(4)

/* An exit whose one capture is an output buffer (read, pread64, recvfrom...) knows its record's
 * size before copying (the bytes the call returned, at most those asked for and those kept), so it
 * is written in the ring in place too, the bytes copied from user memory straight to their place:
 * no scratch and no second copy. A fault leaves a chunk of no bytes, marked, inside the record. */
#define SONDE_EXIT_BUFFER_CLASS(class)                                                            \
    static __always_inline void exit_buffer_c##class(__u32 slot, struct sonde_dispatch_context *d, __u16 nr, \
                                                     long ret, __u8 arg, __u64 ptr, __u32 len, __u8 flags) \
    {                                                                                             \
        struct sonde_ring_c##class *ring = ring_c##class(slot);                                  \
        if (!ring)                                                                                \
            return;                                                                               \
        len &= SONDE_REC_STRING_MAX - 1 | SONDE_REC_STRING_MAX; /* at most 2047 (buffer_capture is at most 1024) */ \
        __u32 size = (sizeof(struct sonde_rec_exit) + sizeof(struct sonde_rec_chunk) + len + 7) & ~7u; \
        __u64 start = ring_reserve(&ring->h, size);                                               \
        struct sonde_rec_exit *x =                                                                \
            (void *)&ring->data[start & (SONDE_REC_RING_SIZE(class) - 1)];                        \
        __u16 time_flags;                                                                         \
        __u64 time = exit_time(d, entry_time(&ring->h, ring->data, SONDE_REC_RING_SIZE(class) - 1, \
                                             start, d->pid, nr), &time_flags);                    \
        fill_in_place(&x->hdr, d, start, size, SONDE_REC_EXIT, nr, time, time_flags);             \
        x->hdr.nchunks = 1;                                                                       \
        x->ret = ret;                                                                             \
        struct sonde_rec_chunk *chunk = (void *)(x + 1);                                          \
        sonde_bound(len, 2047);                                                                   \
        if (bpf_probe_read_user(chunk + 1, len, (const void *)ptr) < 0) {                         \
            len = 0;                                                                              \
            flags |= SONDE_CHUNK_FAULT;                                                           \
        }                                                                                         \
        chunk->arg = arg;                                                                         \
        chunk->flags = flags;                                                                     \
        chunk->len = len;                                                                         \
        finish_in_place(&ring->h, ring->checkpoints,                                              \
                        (SONDE_REC_RING_SIZE(class) >> SONDE_REC_PAGE_SHIFT) - 1, &x->hdr, start, size); \
    }

SONDE_EXIT_BUFFER_CLASS(0)
SONDE_EXIT_BUFFER_CLASS(1)
SONDE_EXIT_BUFFER_CLASS(2)
SONDE_EXIT_BUFFER_CLASS(3)
SONDE_EXIT_BUFFER_CLASS(4)

static __always_inline void enter_in_place(struct sonde_rec_target *target, struct sonde_dispatch_context *d,
                                           struct pt_regs *regs, long id)
{
    switch (target->size_class) {
    case 0: enter_in_place_c0(target->slot, d, regs, id); break;
    case 1: enter_in_place_c1(target->slot, d, regs, id); break;
    case 2: enter_in_place_c2(target->slot, d, regs, id); break;
    case 3: enter_in_place_c3(target->slot, d, regs, id); break;
    default: enter_in_place_c4(target->slot, d, regs, id); break;
    }
}

static __always_inline void exit_in_place(struct sonde_rec_target *target, struct sonde_dispatch_context *d, __u16 nr, long ret)
{
    switch (target->size_class) {
    case 0: exit_in_place_c0(target->slot, d, nr, ret); break;
    case 1: exit_in_place_c1(target->slot, d, nr, ret); break;
    case 2: exit_in_place_c2(target->slot, d, nr, ret); break;
    case 3: exit_in_place_c3(target->slot, d, nr, ret); break;
    default: exit_in_place_c4(target->slot, d, nr, ret); break;
    }
}

static __always_inline void exit_buffer(struct sonde_rec_target *target, struct sonde_dispatch_context *d, __u16 nr,
                                        long ret, __u8 arg, __u64 ptr, __u32 len, __u8 flags)
{
    switch (target->size_class) {
    case 0: exit_buffer_c0(target->slot, d, nr, ret, arg, ptr, len, flags); break;
    case 1: exit_buffer_c1(target->slot, d, nr, ret, arg, ptr, len, flags); break;
    case 2: exit_buffer_c2(target->slot, d, nr, ret, arg, ptr, len, flags); break;
    case 3: exit_buffer_c3(target->slot, d, nr, ret, arg, ptr, len, flags); break;
    default: exit_buffer_c4(target->slot, d, nr, ret, arg, ptr, len, flags); break;
    }
}

static __always_inline void write_record(struct sonde_dispatch_context *d, struct sonde_rec_target *target, void *record, __u32 size)
{
    __u32 slot = target->slot;
    switch (target->size_class) {
    case 0: write_c0(d, &slot, record, size); break;
    case 1: write_c1(d, &slot, record, size); break;
    case 2: write_c2(d, &slot, record, size); break;
    case 3: write_c3(d, &slot, record, size); break;
    default: write_c4(d, &slot, record, size); break;
    }
}

/* Appends one chunk of user memory at c->doff of the scratch record's data area; `string` reads
 * up to a NUL. Returns false once the data area is full. */
struct capture {
    struct scratch *s;
    struct sonde_syscall_schema *schema;
    __u64 *args;      /* the six argument registers */
    __u64 sp;         /* at entry: the user stack pointer */
    __u32 base;       /* size of the record's fixed part: the data area starts there */
    __u32 doff;       /* bytes of data so far */
    __u32 buffer_cap;
    __s64 ret;        /* at exit */
    __u64 argv;       /* at entry: the string array to walk, if any */
    __u8 argv_arg;
    __u8 nchunks;
    __u8 iov_arg;     /* the iovec array to walk after the arguments, if iov_count > 0 */
    __u8 iov_at_exit;
    __u32 iov_count;
    __u64 iov;
    __u64 iov_remaining; /* at exit: bytes the kernel transferred, not yet shown in an entry */
};

static __always_inline bool add_chunk(struct capture *c, __u8 arg, __u8 flags, __u64 ptr, __u32 len, bool string)
{
    __u32 off = c->doff;
    if (off > SONDE_REC_DATA_MAX - sizeof(struct sonde_rec_chunk))
        return false;
    __u32 pos = c->base + off;
    if (pos > SONDE_REC_DATA_MAX + 128) /* base is at most the size of the fixed part */
        return false;
    struct sonde_rec_chunk *chunk = (void *)&c->s->bytes[pos];
    __u32 room = SONDE_REC_DATA_MAX - off - sizeof(*chunk);
    if (len > room) {
        len = room;
        flags |= SONDE_CHUNK_TRUNCATED;
    }
    if (len > SONDE_REC_STRING_MAX) {
        len = SONDE_REC_STRING_MAX;
        flags |= SONDE_CHUNK_TRUNCATED;
    }
    len &= 2 * SONDE_REC_STRING_MAX - 1; /* no-op that shows the verifier the bound */
    long n;
    __u8 *dst = &c->s->bytes[pos + sizeof(*chunk)];
    if (string) {
        n = bpf_probe_read_user_str(dst, len, (const void *)ptr);
        if (n > 0) {
            /* The bound was reached before a NUL: the string went on (the helper ends it with a
             * NUL of its own). */
            if (n == len)
                flags |= SONDE_CHUNK_TRUNCATED;
            n -= 1; /* the NUL is not data */
        }
    } else {
        /* (long) matters: with a __u32 on one side, the -1 would turn unsigned and pass as data. */
        n = bpf_probe_read_user(dst, len, (const void *)ptr) == 0 ? (long)len : -1;
    }
    if (n < 0) {
        n = 0;
        flags |= SONDE_CHUNK_FAULT;
    }
    chunk->arg = arg;
    chunk->flags = flags;
    chunk->len = n;
    c->doff = off + ((sizeof(*chunk) + n + 3) & ~3u);
    c->nchunks += 1;
    return true;
}

static __always_inline __u64 arg_value(struct capture *c, __u8 index)
{
    return index < 6 ? c->args[index] : 0;
}

static __always_inline __u32 min_u64(__u64 a, __u32 b)
{
    return a < b ? a : b;
}

/* The bytes of `count` elements of `size` bytes, kept to the buffer capture (*flags marks the rest). */
static __always_inline __u32 array_bytes(struct capture *c, __u64 count, __u16 size, __u8 *flags)
{
    __u64 want = count > SONDE_REC_DATA_MAX ? (__u64)SONDE_REC_DATA_MAX * size : count * size;
    __u32 len = min_u64(want, c->buffer_cap);
    if (want > len)
        *flags |= SONDE_CHUNK_TRUNCATED;
    return len;
}

/* The iovec array itself now; the bytes behind each entry later, by capture_iov_entry. */
static __always_inline bool add_iovecs(struct capture *c, __u8 arg, __u64 iov, __u64 count, bool at_exit)
{
    if (!iov || !count)
        return true;
    __u32 kept = min_u64(count, SONDE_REC_IOV_MAX);
    __u8 flags = SONDE_CHUNK_IOV_ARRAY | (count > kept ? SONDE_CHUNK_TRUNCATED : 0);
    if (!add_chunk(c, arg, flags, iov, kept * sizeof(struct iovec), false))
        return false;
    c->iov = iov;
    c->iov_count = kept;
    c->iov_arg = arg;
    c->iov_at_exit = at_exit;
    c->iov_remaining = at_exit && c->ret > 0 ? c->ret : 0;
    return true;
}

/* A msghdr: the struct, the socket address it names, then its iovecs. */
static __always_inline bool add_msghdr(struct capture *c, __u8 arg, __u64 ptr, bool at_exit)
{
    struct user_msghdr m;
    if (!ptr)
        return true;
    if (bpf_probe_read_user(&m, sizeof(m), (const void *)ptr) < 0)
        return add_chunk(c, arg, 0, ptr, sizeof(m), false); /* marked as a fault */
    if (!add_chunk(c, arg, 0, ptr, sizeof(m), false))
        return false;
    if (m.msg_name && m.msg_namelen > 0 &&
        !add_chunk(c, arg, SONDE_CHUNK_MSG_NAME, (__u64)m.msg_name, min_u64(m.msg_namelen, 128), false))
        return false;
    return add_iovecs(c, arg, (__u64)m.msg_iov, m.msg_iovlen, at_exit);
}

static __always_inline __u32 fd_set_bytes(__u64 nfds)
{
    __u64 bytes = ((nfds + 63) / 64) * 8; /* the kernel copies whole longs */
    return bytes > SONDE_REC_FD_SET_MAX ? SONDE_REC_FD_SET_MAX : bytes;
}

/* The bytes behind iovec j: at entry as much as it holds, at exit what the kernel put there. */
static long capture_iov_entry(__u32 j, struct capture *c)
{
    struct iovec v;
    if (j >= c->iov_count || j >= SONDE_REC_IOV_MAX)
        return 1;
    if (bpf_probe_read_user(&v, sizeof(v), (const void *)(c->iov + j * sizeof(v))) < 0)
        return 1;
    __u64 want = v.iov_len;
    if (c->iov_at_exit) {
        if (want > c->iov_remaining)
            want = c->iov_remaining;
        c->iov_remaining -= want;
    }
    __u32 len = min_u64(want, c->buffer_cap);
    __u8 flags = SONDE_CHUNK_IOV_ENTRY | (want > len ? SONDE_CHUNK_TRUNCATED : 0);
    return add_chunk(c, c->iov_arg, flags, (__u64)v.iov_base, len, false) ? 0 : 1;
}

/* bpf_loop callbacks are verified once, not once per iteration and path: without them the
 * verifier's state count explodes over six arguments times capture kinds. */
static long capture_enter_arg(__u32 i, struct capture *c)
{
    if (i >= 6)
        return 1;
    __u8 kind = c->schema->kind[i];
    __u64 ptr = c->args[i];
    __u32 len;
    __u8 flags = 0;
    bool string = false;
    switch (kind) {
    case SONDE_CAP_STRING:
        len = SONDE_REC_STRING_MAX;
        string = true;
        break;
    case SONDE_CAP_IN_BUFFER: {
        __u64 want = arg_value(c, c->schema->len_arg[i]);
        len = want > c->buffer_cap ? c->buffer_cap : want;
        if (want > len)
            flags |= SONDE_CHUNK_TRUNCATED;
        break;
    }
    case SONDE_CAP_IN_SOCKADDR: {
        __u64 want = arg_value(c, c->schema->len_arg[i]);
        len = want > 128 ? 128 : want;
        break;
    }
    case SONDE_CAP_IN_STRUCT:
    case SONDE_CAP_INOUT_STRUCT:
        len = c->schema->struct_size[i];
        break;
    case SONDE_CAP_STRING_ARRAY:
        c->argv = ptr;
        c->argv_arg = i;
        return 0;
    case SONDE_CAP_IN_IOVEC:
        return add_iovecs(c, i, ptr, arg_value(c, c->schema->len_arg[i]), false) ? 0 : 1;
    case SONDE_CAP_IN_MSGHDR:
        return add_msghdr(c, i, ptr, false) ? 0 : 1;
    case SONDE_CAP_FD_SET:
        len = fd_set_bytes(arg_value(c, c->schema->len_arg[i]));
        break;
    case SONDE_CAP_IN_ARRAY:
        len = array_bytes(c, arg_value(c, c->schema->len_arg[i]), c->schema->struct_size[i], &flags);
        break;
    case SONDE_CAP_SIGFRAME_MASK:
        ptr = c->sp + SONDE_UCONTEXT_SIGMASK_OFFSET;
        len = 8;
        break;
    default:
        return 0;
    }
    if (!ptr)
        return 0; /* NULL: the raw value says it all */
    return add_chunk(c, i, flags, ptr, len, string) ? 0 : 1;
}

static long capture_argv_entry(__u32 j, struct capture *c)
{
    const char *const *argv = (const char *const *)c->argv;
    const char *arg = NULL;
    if (bpf_probe_read_user(&arg, sizeof(arg), &argv[j]) < 0 || !arg)
        return 1;
    __u8 flags = SONDE_CHUNK_ARGV_ENTRY;
    if (j == SONDE_REC_ARGV_MAX - 1) {
        const char *more = NULL;
        if (bpf_probe_read_user(&more, sizeof(more), &argv[j + 1]) == 0 && more)
            flags |= SONDE_CHUNK_ARGV_MORE;
    }
    return add_chunk(c, c->argv_arg, flags, (__u64)arg, 256, true) ? 0 : 1;
}

static long capture_exit_arg(__u32 i, struct capture *c)
{
    if (i >= 6)
        return 1;
    __u8 kind = c->schema->kind[i];
    __u64 ptr = c->args[i];
    __u32 len;
    __u8 flags = 0;
    switch (kind) {
    case SONDE_CAP_OUT_BUFFER: {
        __u64 limit = arg_value(c, c->schema->len_arg[i]);
        __u64 got = (__u64)c->ret < limit ? (__u64)c->ret : limit;
        len = got > c->buffer_cap ? c->buffer_cap : got;
        if (got > len)
            flags |= SONDE_CHUNK_TRUNCATED;
        break;
    }
    case SONDE_CAP_OUT_SOCKADDR: {
        __u32 socklen = 0;
        __u64 lenp = arg_value(c, c->schema->len_arg[i]);
        if (!lenp || bpf_probe_read_user(&socklen, sizeof(socklen), (void *)lenp) < 0)
            return 0;
        len = socklen > 128 ? 128 : socklen;
        break;
    }
    case SONDE_CAP_OUT_STRUCT:
        len = c->schema->struct_size[i];
        break;
    case SONDE_CAP_INOUT_STRUCT:
        if (c->ret < 0)
            return 0; /* failed: the kernel wrote nothing back */
        len = c->schema->struct_size[i];
        flags = SONDE_CHUNK_AT_EXIT;
        break;
    case SONDE_CAP_OUT_IOVEC:
        return add_iovecs(c, i, ptr, arg_value(c, c->schema->len_arg[i]), true) ? 0 : 1;
    case SONDE_CAP_OUT_MSGHDR:
        return add_msghdr(c, i, ptr, true) ? 0 : 1;
    case SONDE_CAP_FD_SET:
        if (c->ret <= 0)
            return 0; /* nothing ready: the kernel left the sets as they were */
        len = fd_set_bytes(arg_value(c, c->schema->len_arg[i]));
        flags = SONDE_CHUNK_AT_EXIT;
        break;
    case SONDE_CAP_OUT_ARRAY: {
        if (c->ret <= 0)
            return 0;
        __u64 limit = arg_value(c, c->schema->len_arg[i]);
        len = array_bytes(c, (__u64)c->ret < limit ? (__u64)c->ret : limit, c->schema->struct_size[i], &flags);
        break;
    }
    case SONDE_CAP_OUT_PAGES:
        if (c->ret != 0)
            return 0;
        len = array_bytes(c, (arg_value(c, c->schema->len_arg[i]) + 4095) >> 12, 1, &flags);
        break;
    default:
        return 0;
    }
    if (!ptr)
        return 0;
    return add_chunk(c, i, flags, ptr, len, false) ? 0 : 1;
}

/* The header of a record built in scratch. An exit gets its time when it is written (ring_commit). */
static __always_inline void fill_header(struct sonde_rec_header *h, struct sonde_dispatch_context *d, __u8 type, __u16 nr)
{
    h->type = type;
    h->nr = nr;
    h->flags = 0;
    h->nchunks = 0;
    h->pid = d->tgid;
    h->tid = d->pid;
    h->reserved = 0;
    h->timestamp_ns = type == SONDE_REC_ENTER ? sonde_dispatch_now(d) : 0;
}

static __always_inline __u32 finish(struct sonde_rec_header *h, struct capture *c)
{
    __u32 size = (c->base + c->doff + 7) & ~7u;
    h->size = size;
    h->nchunks = c->nchunks;
    return size;
}

static __always_inline struct sonde_syscall_schema *schema_of(__u32 nr)
{
    return nr < SONDE_REC_MAX_SYSCALLS ? bpf_map_lookup_elem(&rec_schema, &nr) : NULL;
}

/* The key the recorder's targets use: the dispatcher's (the cgroup), or the mount namespace. */
static __always_inline __u64 record_key(struct sonde_dispatch_context *d)
{
    if (key_by_mntns)
        return bpf_get_current_task_btf()->nsproxy->mnt_ns->ns.inum;
    return d->key;
}

static __always_inline void record_enter(struct sonde_dispatch_context *d, struct pt_regs *regs, long id)
{
    struct sonde_rec_target *target = find_target(record_key(d));
    if (!target)
        return;
    struct sonde_syscall_schema *schema = schema_of(id);
    if (!schema || !schema->enter_captures) {
        enter_in_place(target, d, regs, id);
        return;
    }
    __u32 zero = 0;
    struct scratch *s = bpf_map_lookup_elem(&enter_scratch, &zero);
    if (!s)
        return;

    struct sonde_rec_enter *e = &s->enter;
    fill_header(&e->hdr, d, SONDE_REC_ENTER, id);
    copy_args(e->args, regs);

    struct capture c = { .s = s, .args = e->args, .sp = regs->sp, .base = sizeof(*e), .buffer_cap = target->buffer_capture, .schema = schema };
    if (schema->single_enter < 6)
        capture_enter_arg(schema->single_enter, &c);
    else
        bpf_loop(6, capture_enter_arg, &c, 0);
    if (c.argv)
        bpf_loop(SONDE_REC_ARGV_MAX, capture_argv_entry, &c, 0);
    if (c.iov_count)
        bpf_loop(SONDE_REC_IOV_MAX, capture_iov_entry, &c, 0);
    __u32 size = finish(&e->hdr, &c);
    write_record(d, target, e, size);
}

/* Called by the dispatcher for the calls of recorded cgroups (never attached itself). */
SEC("tp_btf/sys_enter")
int BPF_PROG(sonde_rec_sys_enter, struct pt_regs *regs, long id)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_ENTER);
    if (!d)
        return 0;
    record_enter(d, regs, id);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_ENTER, d);
    return 0;
}

static __always_inline void record_exit(struct sonde_dispatch_context *d, struct pt_regs *regs, long ret)
{
    struct sonde_rec_target *target = find_target(record_key(d));
    if (!target)
        return;
    __u32 nr = regs->orig_ax;
    struct sonde_syscall_schema *schema = schema_of(nr);
    if (!schema || !schema->exit_captures || ret < 0) {
        exit_in_place(target, d, nr, ret);
        return;
    }
    __u8 single = schema->single_exit;
    if (single < 6 && schema->kind[single] == SONDE_CAP_OUT_BUFFER) {
        __u64 args[6];
        copy_args(args, regs);
        __u64 ptr = args[single];
        __u8 len_arg = schema->len_arg[single];
        if (ptr && len_arg < 6) {
            __u64 limit = args[len_arg];
            __u64 got = (__u64)ret < limit ? (__u64)ret : limit;
            __u32 len = got > target->buffer_capture ? target->buffer_capture : got;
            exit_buffer(target, d, nr, ret, single, ptr, len, got > len ? SONDE_CHUNK_TRUNCATED : 0);
            return;
        }
    }
    __u32 zero = 0;
    struct scratch *s = bpf_map_lookup_elem(&exit_scratch, &zero);
    if (!s)
        return;

    struct sonde_rec_exit *x = &s->exit;
    fill_header(&x->hdr, d, SONDE_REC_EXIT, nr);
    x->ret = ret;

    struct capture c = { .s = s, .base = sizeof(*x), .buffer_cap = target->buffer_capture, .ret = ret };
    /* x86_64 keeps the argument registers in pt_regs through the call, so output buffers are read
     * here without remembering the pointers at entry. */
    copy_args(s->args, regs);
    c.args = s->args;
    c.schema = schema;
    if (schema->single_exit < 6)
        capture_exit_arg(schema->single_exit, &c);
    else
        bpf_loop(6, capture_exit_arg, &c, 0);
    if (c.iov_count)
        bpf_loop(SONDE_REC_IOV_MAX, capture_iov_entry, &c, 0);
    __u32 size = finish(&x->hdr, &c);
    write_record(d, target, x, size);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sonde_rec_sys_exit, struct pt_regs *regs, long ret)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_EXIT);
    if (!d)
        return 0;
    record_exit(d, regs, ret);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_EXIT, d);
    return 0;
}

/* Cgroups and processes: new cgroups get a ring before any task can join them, so a container is
 * recorded from its first syscall; deaths that warrant a crash dump are told to user space. */

static __always_inline struct sonde_rec_notice *reserve_notice(__u32 kind)
{
    struct sonde_rec_notice *n = bpf_ringbuf_reserve(&rec_notices, sizeof(*n), 0);
    if (n) {
        __builtin_memset(n, 0, sizeof(*n));
        n->kind = kind;
        n->timestamp_ns = bpf_ktime_get_boot_ns();
    }
    return n;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(sonde_rec_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
    __u32 zero = 0;
    struct sonde_rec_config *config = bpf_map_lookup_elem(&rec_config, &zero);
    /* Only the hierarchy whose ids task_key() reports. */
    if (!config || !config->track_new_cgroups || key_by_mntns || !keyed_hierarchy(cgrp))
        return 0;
    __u64 key = cgrp->kn->id;
    __u32 slot;
    struct sonde_rec_notice *n;
    if (bpf_map_pop_elem(&rec_free_slots, &slot) < 0) {
        n = reserve_notice(SONDE_REC_POOL_EMPTY);
        if (n) {
            n->key = key;
            bpf_probe_read_kernel_str(n->path, sizeof(n->path), path);
            bpf_ringbuf_submit(n, 0);
        }
        return 0;
    }
    struct sonde_rec_target target = {
        .slot = slot,
        .size_class = config->new_size_class,
        .state = SONDE_REC_PENDING,
        .buffer_capture = config->buffer_capture,
    };
    bpf_map_update_elem(&rec_targets, &key, &target, BPF_NOEXIST);
    __u32 index = key & SONDE_REC_FILTER_MASK;
    struct sonde_rec_filter_entry *entry = bpf_map_lookup_elem(&rec_filter, &index);
    if (entry && entry->key == 0) {
        entry->target = target;
        entry->key = key; /* last: the entry counts once its key is there */
    }
    sonde_dispatch_want(key, sonde_dispatch_bit());
    n = reserve_notice(SONDE_REC_CGROUP_CREATED);
    if (n) {
        n->key = key;
        n->slot = slot;
        n->level = cgrp->level;
        bpf_probe_read_kernel_str(n->path, sizeof(n->path), path);
        bpf_ringbuf_submit(n, 0);
    }
    return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(sonde_rec_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
    __u64 key = cgrp->kn->id;
    if (key_by_mntns || !keyed_hierarchy(cgrp))
        return 0;
    struct sonde_rec_target *target = bpf_map_lookup_elem(&rec_targets, &key);
    if (!target)
        return 0;
    /* The rings stay: a container that is gone can still be dumped. User space decides when. */
    struct sonde_rec_notice *n = reserve_notice(SONDE_REC_CGROUP_REMOVED);
    if (n) {
        n->key = key;
        n->slot = target->slot;
        bpf_probe_read_kernel_str(n->path, sizeof(n->path), path);
        bpf_ringbuf_submit(n, 0);
    }
    return 0;
}

/* Signals whose default action ends the process with a core dump or plainly, as a crash. */
static __always_inline bool fatal_signal(int sig)
{
    switch (sig) {
    case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 11: case 24: case 25: case 31:
        return true; /* QUIT ILL TRAP ABRT BUS FPE KILL SEGV XCPU XFSZ SYS */
    default:
        return false;
    }
}

/* Signals whose default action dumps core (the kernel's SIG_KERNEL_COREDUMP_MASK): the faults. */
static __always_inline bool core_signal(int sig)
{
    return sig != 9 && fatal_signal(sig);
}

/* Signals, thread exits and crash stacks go into the same per-CPU rings as the syscalls, so a dump
 * shows them in their place. They are written by programs outside the dispatcher: each finds the
 * target itself and reads the clock itself (d is NULL). */
static __always_inline void write_event(struct sonde_rec_target *target, struct sonde_rec_header *h, __u8 type,
                                        __u32 pid, __u32 tid, __u16 nr, __u32 size)
{
    h->size = size;
    h->type = type;
    h->nchunks = 0;
    h->nr = nr;
    h->flags = 0;
    h->pid = pid;
    h->tid = tid;
    h->reserved = 0;
    h->timestamp_ns = bpf_ktime_get_boot_ns();
    write_record(NULL, target, h, size);
}

static __always_inline struct sonde_rec_target *task_target(struct task_struct *task)
{
    __u64 key = task_key(task);
    return bpf_map_lookup_elem(&rec_targets, &key);
}

static __always_inline struct sonde_rec_stack *event_record(void)
{
    __u32 zero = 0;
    struct event_scratch *scratch = bpf_map_lookup_elem(&event_scratch, &zero);
    return scratch ? &scratch->record : NULL;
}

static __always_inline void copy_siginfo(struct sonde_rec_signal *r, struct kernel_siginfo *info)
{
    /* info may be one of the kernel's markers SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1). */
    __builtin_memset(r->info, 0, sizeof(r->info));
    if ((unsigned long)info == 1)
        r->flags |= SONDE_SIGNAL_KERNEL;
    else if ((unsigned long)info > 1 && bpf_probe_read_kernel(r->info, sizeof(r->info), info) == 0)
        r->flags |= SONDE_SIGNAL_HAS_INFO;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(sonde_rec_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
             int result)
{
    struct sonde_rec_target *target = task_target(task);
    if (!target)
        return 0;
    /* On the stack, not in the shared scratch: this program may run in an interrupt, on top of
     * the exit program building its record there. */
    struct sonde_rec_signal record;
    struct sonde_rec_signal *r = &record;
    r->event = SONDE_SIGNAL_GENERATED;
    r->flags = group ? SONDE_SIGNAL_GROUP : 0;
    r->result = result;
    r->reserved = 0;
    r->reserved2 = 0;
    r->handler = 0;
    r->sa_flags = 0;
    copy_siginfo(r, info);
    write_event(target, &r->hdr, SONDE_REC_SIGNAL, task->tgid, task->pid, sig, sizeof(*r));
    return 0;
}

/* A file's path inside the thread's root (a container's own /), written backwards from the end of
 * `path`: dentry names up to the mount's root, then on from the mount point. Returns where it starts. */
static __always_inline __u16 file_path(char *path, __u16 *flags, struct file *file, struct task_struct *task)
{
    /* bpf_core_read: BPF_CORE_READ's temporary cannot be of the const types these fields have. */
    struct dentry *dentry = NULL;
    struct vfsmount *mnt = NULL;
    bpf_core_read(&dentry, sizeof(dentry), &file->f_path.dentry);
    bpf_core_read(&mnt, sizeof(mnt), &file->f_path.mnt);
    struct dentry *root = BPF_CORE_READ(task, fs, root.dentry);
    struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
    __u32 pos = SONDE_REC_PATH_MAX;
    *flags = SONDE_PATH_TRUNCATED;
    for (int i = 0; i < 24; i++) {
        if (dentry == root && mnt == root_mnt) {
            *flags = 0;
            break;
        }
        struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt_root);
        if (dentry == mnt_root) {
            /* struct mount holds the vfsmount: up to the mount point in the parent mount. */
            struct mount *mount = (void *)((unsigned long)mnt - bpf_core_field_offset(struct mount, mnt));
            struct mount *parent = BPF_CORE_READ(mount, mnt_parent);
            if (parent == mount) {
                *flags = 0; /* the namespace's root: outside the thread's root, shown from here */
                break;
            }
            dentry = BPF_CORE_READ(mount, mnt_mountpoint);
            mnt = (void *)((unsigned long)parent + bpf_core_field_offset(struct mount, mnt));
            continue;
        }
        struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
        if (parent == dentry) {
            *flags = 0;
            break;
        }
        __u32 len = 0;
        const unsigned char *name = NULL;
        bpf_core_read(&len, sizeof(len), &dentry->d_name.len);
        bpf_core_read(&name, sizeof(name), &dentry->d_name.name);
        if (len > 63 || len + 1 > pos)
            break; /* deeper than kept: truncated */
        pos -= len + 1;
        sonde_bound(pos, 255);
        sonde_bound(len, 63);
        path[pos] = '/';
        if (pos + 1 + len <= SONDE_REC_PATH_MAX)
            bpf_probe_read_kernel(&path[(pos + 1) & 255], len, name);
        dentry = parent;
    }
    if (pos == SONDE_REC_PATH_MAX && !(*flags & SONDE_PATH_TRUNCATED)) {
        pos -= 1;
        path[pos] = '/'; /* the root itself */
    }
    return pos;
}

static __always_inline void record_stack(void *ctx, struct sonde_rec_target *target, struct task_struct *task, int sig)
{
    struct sonde_rec_stack *r = event_record();
    if (!r)
        return;
    long bytes = bpf_get_stack(ctx, r->frames, sizeof(r->frames), BPF_F_USER_STACK);
    if (bytes <= 0)
        return;
    r->nframes = bytes / sizeof(r->frames[0]);
    bytes = bpf_get_stack(ctx, r->files, sizeof(r->files), BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
    r->nfiles = bytes > 0 ? bytes / sizeof(r->files[0]) : 0;
    r->reserved = 0;
    struct file *exe = BPF_CORE_READ(task, mm, exe_file);
    if (exe) {
        r->exe_path_start = file_path(r->exe_path, &r->exe_flags, exe, task);
    } else {
        r->exe_path_start = SONDE_REC_PATH_MAX;
        r->exe_flags = 0;
    }
    write_event(target, &r->hdr, SONDE_REC_STACK, task->tgid, task->pid, sig, sizeof(*r));
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(sonde_rec_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct sonde_rec_target *target = task_target(task);
    if (!target)
        return 0;
    struct sonde_rec_stack *scratch = event_record();
    if (!scratch)
        return 0;
    struct sonde_rec_signal *r = (void *)scratch;
    r->event = SONDE_SIGNAL_DELIVERED;
    r->flags = 0;
    r->result = 0;
    r->reserved = 0;
    r->reserved2 = 0;
    /* ka is NULL when the thread dies in a group exit another thread started. */
    r->handler = 0;
    r->sa_flags = 0;
    if (ka) {
        /* A probe read: a function pointer read directly is a pointer the verifier will not store. */
        bpf_probe_read_kernel(&r->handler, sizeof(r->handler), &ka->sa.sa_handler);
        r->sa_flags = ka->sa.sa_flags;
    }
    copy_siginfo(r, info);
    __u64 handler = r->handler;
    write_event(target, &r->hdr, SONDE_REC_SIGNAL, task->tgid, task->pid, sig, sizeof(*r));
    /* A fault the thread does not handle: where it was, before the process is gone. */
    if (ka && handler == 0 && core_signal(sig))
        record_stack(ctx, target, task, sig);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sonde_rec_process_exit, struct task_struct *task)
{
    /* Every thread's end goes into the recording; the process's, when it warrants a crash dump, to
     * user space too. Without the tracepoint's group_dead (the verifier skips this branch when the
     * constant says it is absent, so the argument is never read there), the count of live threads
     * says it: do_exit() decrements it before the tracepoint. Two threads ending at once may then
     * both see zero; user space drops the second notice. */
    bool group_dead;
    if (exit_has_group_dead) {
        sonde_barrier(); /* keeps the compiler from loading ctx[1] before the test */
        group_dead = ctx[1] != 0;
    } else {
        group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
    }
    __u64 key = task_key(bpf_get_current_task_btf());
    struct sonde_rec_target *target = bpf_map_lookup_elem(&rec_targets, &key);
    if (!target)
        return 0;
    int code = task->exit_code;
    struct sonde_rec_stack *scratch = event_record();
    if (scratch) {
        struct sonde_rec_thread_exit *x = (void *)scratch;
        x->exit_code = code;
        x->group_dead = group_dead;
        x->reserved[0] = x->reserved[1] = x->reserved[2] = 0;
        write_event(target, &x->hdr, SONDE_REC_THREAD_EXIT, task->tgid, task->pid, 0, sizeof(*x));
    }
    if (!group_dead)
        return 0;
    /* The init of its pid namespace is pid 1 there: the container's init process. Read through
     * probe reads: the verifier allows no variable index into a kernel struct pointer. */
    struct pid *pid = BPF_CORE_READ(task, thread_pid);
    __u32 level = BPF_CORE_READ(pid, level);
    int ns_pid = 0;
    bpf_core_read(&ns_pid, sizeof(ns_pid), &pid->numbers[level & 31].nr);
    bool ns_init = ns_pid == 1;
    bool crashed = fatal_signal(code & 0x7f);
    bool init_failed = ns_init && code != 0;
    if (!crashed && !init_failed)
        return 0;
    struct sonde_rec_notice *n = reserve_notice(SONDE_REC_PROCESS_EXIT);
    if (n) {
        n->key = key;
        n->slot = target->slot;
        n->pid = task->tgid;
        n->exit_code = code;
        n->namespace_init = ns_init;
        bpf_get_current_comm(n->comm, sizeof(n->comm));
        bpf_ringbuf_submit(n, 0);
    }
    return 0;
}
