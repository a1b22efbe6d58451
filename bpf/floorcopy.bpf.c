// SPDX-License-Identifier: GPL-2.0
/* The floor for a recorder that keeps what read() returned: an empty sys_enter program, and a
 * sys_exit program that copies the first byte a successful read(2) put in user memory and does
 * nothing else. No recorder that keeps a read's data can cost less than this on this kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floorcopy_enter, struct pt_regs *regs, long id) { return 0; }

SEC("tp_btf/sys_exit")
int BPF_PROG(floorcopy_exit, struct pt_regs *regs, long ret)
{
    if (regs->orig_ax != 0 /* read */ || ret <= 0)
        return 0;
    char byte;
    bpf_probe_read_user(&byte, 1, (void *)regs->si);
    /* Keeps the copy from being optimised away. */
    asm volatile("" : : "r"(byte) : "memory");
    return 0;
}
