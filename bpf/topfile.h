/* Map ABI of top file (bpf/topfile.bpf.c), mirrored by Sources/Gadgets/Top/TopFileGadget.swift.
 * Nothing is streamed: the kernel aggregates, user space reads and empties the map each interval. */
#ifndef SONDE_TOPFILE_H
#define SONDE_TOPFILE_H

#include "sonde/abi.h"

#define SONDE_TOPFILE_NAME_LEN 64

/* One file as used by one process. */
struct sonde_topfile_key {
    __u64 cgroup_id;
    __u64 dev;    /* super_block s_dev */
    __u64 inode;
    __u32 pid;    /* tgid */
    __u32 reserved;
};

struct sonde_topfile_value {
    __u64 reads;
    __u64 writes;
    __u64 read_bytes;
    __u64 write_bytes;
    __u64 mntns_id;
    __u32 tid;    /* the thread that first used it this interval */
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __u32 mode;   /* inode i_mode: file type */
    __u32 reserved;
    char comm[SONDE_COMM_LEN];
    char name[SONDE_TOPFILE_NAME_LEN]; /* the dentry's name (last path component) */
};

#endif
