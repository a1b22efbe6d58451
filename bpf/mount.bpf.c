// SPDX-License-Identifier: GPL-2.0
/* trace mount: mount, umount2 and move_mount of the selected containers, with source, target,
 * filesystem type, flags, options and the result. At exit only: the arguments are still in the
 * saved user registers, and the kernel has just copied the same strings. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "mount.h"

char LICENSE[] SEC("license") = "GPL";

const struct sonde_mount_event *sonde_btf_mount_event __attribute__((unused));

/* x86_64 numbers. */
#define NR_MOUNT 165
#define NR_UMOUNT2 166
#define NR_MOVE_MOUNT 429

/* Reads a user string into a field; returns the truncation bit when it filled the field. */
static __always_inline __u32 read_string(char *dst, __u32 size, const char *src, __u32 truncated_bit)
{
    long n = src ? bpf_probe_read_user_str(dst, size, src) : -1;
    if (n < 0) {
        dst[0] = 0;
        return 0;
    }
    return n == size ? truncated_bit : 0;
}

static __always_inline int on_exit(long ret, __u32 nr)
{
    if (!sonde_selected())
        return 0;
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    struct sonde_mount_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_MOUNT);
    e->ret = ret;
    e->syscall_nr = nr;
    e->event_flags = 0;
    e->source[0] = 0;
    e->fstype[0] = 0;
    e->data[0] = 0;
    /* x86_64 arguments: di, si, dx, r10, r8. */
    if (nr == NR_MOUNT) {
        /* mount(source, target, fstype, flags, data) */
        e->event_flags |= read_string(e->source, sizeof(e->source), (const char *)regs->di, SONDE_MOUNT_SOURCE_TRUNCATED);
        e->event_flags |= read_string(e->target, sizeof(e->target), (const char *)regs->si, SONDE_MOUNT_TARGET_TRUNCATED);
        read_string(e->fstype, sizeof(e->fstype), (const char *)regs->dx, 0);
        e->flags = regs->r10;
        e->event_flags |= read_string(e->data, sizeof(e->data), (const char *)regs->r8, SONDE_MOUNT_DATA_TRUNCATED);
    } else if (nr == NR_UMOUNT2) {
        /* umount2(target, flags) */
        e->event_flags |= read_string(e->target, sizeof(e->target), (const char *)regs->di, SONDE_MOUNT_TARGET_TRUNCATED);
        e->flags = regs->si;
    } else {
        /* move_mount(from_dfd, from_path, to_dfd, to_path, flags) */
        e->event_flags |= read_string(e->source, sizeof(e->source), (const char *)regs->si, SONDE_MOUNT_SOURCE_TRUNCATED);
        e->event_flags |= read_string(e->target, sizeof(e->target), (const char *)regs->r10, SONDE_MOUNT_TARGET_TRUNCATED);
        e->flags = regs->r8;
    }
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int sonde_exit_mount(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret, NR_MOUNT);
}

/* umount2's tracepoint carries the kernel's name for it, "umount". */
SEC("tracepoint/syscalls/sys_exit_umount")
int sonde_exit_umount(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret, NR_UMOUNT2);
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int sonde_exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
    return on_exit(ctx->ret, NR_MOVE_MOUNT);
}
