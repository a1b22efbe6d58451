// SPDX-License-Identifier: GPL-2.0
/* The kernel floor for benchmarks: empty programs on raw_syscalls sys_enter and sys_exit. What
 * they add to a syscall is the least any per-syscall BPF tracer can cost on this kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter")
int floor_enter(void *ctx) { return 0; }

SEC("raw_tracepoint/sys_exit")
int floor_exit(void *ctx) { return 0; }
