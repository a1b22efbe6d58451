/* Event ABI of the mount gadget (bpf/mount.bpf.c), mirrored by Sources/Gadgets/Mount. */
#ifndef SONDE_MOUNT_H
#define SONDE_MOUNT_H

#include "sonde/abi.h"

#define SONDE_MOUNT_PATH_LEN 256
#define SONDE_MOUNT_FSTYPE_LEN 32
#define SONDE_MOUNT_DATA_LEN 128

enum sonde_mount_flags {
    SONDE_MOUNT_SOURCE_TRUNCATED = 1 << 0,
    SONDE_MOUNT_TARGET_TRUNCATED = 1 << 1,
    SONDE_MOUNT_DATA_TRUNCATED = 1 << 2,
};

struct sonde_mount_event {
    struct sonde_event_header hdr;
    __s64 ret;          /* 0, or -errno */
    __u64 flags;        /* MS_* for mount, MNT_* for umount2, MOVE_MOUNT_* for move_mount */
    __u32 syscall_nr;
    __u32 event_flags;  /* enum sonde_mount_flags */
    char source[SONDE_MOUNT_PATH_LEN]; /* mount: source; move_mount: from_path; umount2: empty */
    char target[SONDE_MOUNT_PATH_LEN];
    char fstype[SONDE_MOUNT_FSTYPE_LEN];
    char data[SONDE_MOUNT_DATA_LEN];   /* mount options as text, when the filesystem takes text */
};

#endif
