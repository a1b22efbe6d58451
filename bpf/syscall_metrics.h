/* Map ABI of the in-kernel syscall metrics (bpf/syscall_metrics.bpf.c), mirrored by
 * Sources/Gadgets/Metrics/SyscallMetricsGadget.swift. Nothing is streamed: the kernel counts per
 * (cgroup, syscall) in a per-CPU table; user space sums the CPUs when it reads. */
#ifndef SONDE_SYSCALL_METRICS_H
#define SONDE_SYSCALL_METRICS_H

#include "sonde/abi.h"

/* Latency buckets by powers of two of nanoseconds: bucket 0 holds 0 ns, bucket b (1..30) holds
 * [2^(b-1), 2^b) ns, and the last one everything from 2^30 ns (about 1.07 s) on. */
#define SONDE_SYSMET_BUCKETS 32

struct sonde_sysmet_key {
    __u64 cgroup_id; /* cgroup v2 id of the calling task at entry */
    __u32 nr;        /* x86_64 syscall number */
    __u32 reserved;
};

/* Totals since the entry was created, on one CPU. */
struct sonde_sysmet_value {
    __u64 count;       /* calls that returned (exit and exit_group: counted when the thread ends) */
    __u64 errors;      /* calls that returned a negative value (-errno) */
    __u64 latency_ns;  /* sum of the measured latencies (0 when latency is off) */
    __u64 buckets[SONDE_SYSMET_BUCKETS];
};

#endif
