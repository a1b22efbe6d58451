// SPDX-License-Identifier: GPL-2.0
/* Benchmark floors made of the kernel work a feature cannot do without, nothing else, so a
 * feature's cost can be set against the least it could cost on the same kernel (bench/README.md).
 * With no constant set: an empty sys_enter program, and a sys_exit program that copies the first
 * byte a successful read(2) put in user memory (no recorder that keeps a read's data can cost less).
 *   with_clock_both: instead, the clock read at entry and at exit (what any per-call latency costs);
 *   with_recording:  the copy, plus the current task at both ends and the clock at entry (what a
 *                    recorder of who, when and the data costs).
 *   with_count:      instead, at exit only, the task's cgroup id and one per-CPU hash entry of
 *                    (cgroup, syscall) counted (what counting calls per container costs).
 *   with_ring:       the least a flight recorder does: with_recording's work, and both records (an
 *                    entry with the six arguments, an exit with the result and the read's byte
 *                    copied into it) stored in this CPU's 4 MiB ring, as sonde's records are laid out.
 * The constants are set before load; the verifier drops the parts that are off. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 with_clock_both = 0;
const volatile __u8 with_recording = 0;
const volatile __u8 with_count = 0;
const volatile __u8 with_ring = 0;

struct count_key {
    __u64 cgroup_id;
    __u64 nr;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, struct count_key);
    __type(value, __u64);
} counts SEC(".maps");

/* with_ring's per-CPU rings (max_entries set to the CPUs before load). The records have the
 * recorder's sizes: a 32-byte header, then the six arguments or the result and one chunk. */
#define RING_SIZE (4u << 20)
struct ring {
    __u64 head;
    __u8 data[RING_SIZE + 128]; /* a record never wraps: the slack takes its tail */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ring);
} rings SEC(".maps");

struct record {
    __u16 size;
    __u8 type;
    __u8 nchunks;
    __u16 nr;
    __u16 flags;
    __u32 position;
    __u32 pid;
    __u32 tid;
    __u32 reserved;
    __u64 timestamp_ns;
    __u64 words[6]; /* the arguments; or the result, then the chunk's header and bytes */
};

static __always_inline struct record *ring_record(__u32 size, __u16 nr, __u64 time)
{
    __u32 cpu = bpf_get_smp_processor_id();
    struct ring *ring = bpf_map_lookup_elem(&rings, &cpu);
    if (!ring)
        return 0;
    __u64 start = ring->head;
    ring->head = start + size;
    struct record *r = (void *)&ring->data[start & (RING_SIZE - 1)];
    struct task_struct *task = bpf_get_current_task_btf();
    r->size = size;
    r->nr = nr;
    r->pid = task->tgid;
    r->tid = task->pid;
    r->timestamp_ns = time;
    r->position = (__u32)start;
    return r;
}

/* Keeps a value from being optimised away. */
#define keep(value) asm volatile("" : : "r"(value) : "memory")

SEC("tp_btf/sys_enter")
int BPF_PROG(floorcopy_enter, struct pt_regs *regs, long id)
{
    if (with_ring) {
        struct record *r = ring_record(80, id, bpf_ktime_get_boot_ns());
        if (r) {
            r->words[0] = regs->di;
            r->words[1] = regs->si;
            r->words[2] = regs->dx;
            r->words[3] = regs->r10;
            r->words[4] = regs->r8;
            r->words[5] = regs->r9;
        }
        return 0;
    }
    if (with_clock_both || with_recording)
        keep(bpf_ktime_get_boot_ns());
    if (with_recording)
        keep(bpf_get_current_task_btf()->pid);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floorcopy_exit, struct pt_regs *regs, long ret)
{
    if (with_count) {
        struct count_key key = { .cgroup_id = bpf_get_current_cgroup_id(), .nr = regs->orig_ax };
        __u64 *n = bpf_map_lookup_elem(&counts, &key);
        if (n) {
            *n += 1;
        } else {
            __u64 one = 1;
            bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
        }
        return 0;
    }
    if (with_clock_both) {
        keep(bpf_ktime_get_boot_ns());
        return 0;
    }
    if (with_ring) {
        /* The exit's time is its entry's (sonde takes it from the entry record when that is the
         * record just before): no second clock read. */
        bool copy = regs->orig_ax == 0 /* read */ && ret > 0;
        struct record *r = ring_record(copy ? 56 : 40, regs->orig_ax, 0);
        if (r) {
            r->words[0] = ret;
            if (copy) {
                r->words[1] = 1; /* the chunk: argument 1, one byte */
                bpf_probe_read_user(&r->words[2], 1, (void *)regs->si);
            }
        }
        return 0;
    }
    if (with_recording)
        keep(bpf_get_current_task_btf()->pid);
    if (regs->orig_ax == 0 /* read */ && ret > 0) {
        char byte;
        bpf_probe_read_user(&byte, 1, (void *)regs->si);
        keep(byte);
    }
    return 0;
}
