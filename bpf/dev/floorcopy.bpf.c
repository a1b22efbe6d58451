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
 * The constants are set before load; the verifier drops the parts that are off. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 with_clock_both = 0;
const volatile __u8 with_recording = 0;
const volatile __u8 with_count = 0;

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

/* Keeps a value from being optimised away. */
#define keep(value) asm volatile("" : : "r"(value) : "memory")

SEC("tp_btf/sys_enter")
int BPF_PROG(floorcopy_enter, struct pt_regs *regs, long id)
{
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
    if (with_recording)
        keep(bpf_get_current_task_btf()->pid);
    if (regs->orig_ax == 0 /* read */ && ret > 0) {
        char byte;
        bpf_probe_read_user(&byte, 1, (void *)regs->si);
        keep(byte);
    }
    return 0;
}
