/* Event ABI of the oomkill gadget (bpf/oomkill.bpf.c), mirrored by Sources/Gadgets/OOMKill. */
#ifndef SONDE_OOMKILL_H
#define SONDE_OOMKILL_H

#include "sonde/abi.h"

struct sonde_oomkill_event {
    struct sonde_event_header hdr; /* the process whose allocation ran the OOM killer */
    __s32 victim_pid;   /* host tgid of the process chosen to be killed */
    __s32 victim_tid;
    __u32 victim_uid;
    __s32 victim_oom_score_adj;
    __u64 victim_cgroup_id;
    __u64 total_vm_pages;  /* the victim's address space, in pages */
    __u64 anon_rss_pages;  /* its resident memory by kind (approximate: per-CPU counters) */
    __u64 file_rss_pages;
    __u64 shmem_rss_pages;
    char victim_comm[SONDE_COMM_LEN];
};

#endif
