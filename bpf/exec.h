/* Event ABI of the exec gadget (bpf/exec.bpf.c), mirrored by Sources/Gadgets/Exec. */
#ifndef SONDE_EXEC_H
#define SONDE_EXEC_H

#include "sonde/abi.h"

#define SONDE_EXEC_ARGS_SIZE 4096   /* argv bytes kept, NUL-separated; a power of two */
#define SONDE_EXEC_MAX_ARGS 128
#define SONDE_EXEC_PATH_LEN 256

enum sonde_exec_flags {
    SONDE_EXEC_ARGS_TRUNCATED = 1 << 0, /* argv had more than was kept */
    SONDE_EXEC_PATH_TRUNCATED = 1 << 1,
};

struct sonde_exec_event {
    struct sonde_event_header hdr;
    __s64 retval;      /* 0, or -errno */
    __u32 args_count;  /* arguments kept in args */
    __u32 args_size;   /* bytes used in args */
    __u32 flags;       /* enum sonde_exec_flags */
    __u32 syscall_nr;
    char path[SONDE_EXEC_PATH_LEN];
    /* Twice the kept size: lets the verifier prove every read of up to ARGS_SIZE bytes at an
     * offset below ARGS_SIZE stays inside. Only header + args_size bytes are sent. */
    char args[SONDE_EXEC_ARGS_SIZE * 2];
};

#endif
