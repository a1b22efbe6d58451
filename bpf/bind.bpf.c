// SPDX-License-Identifier: GPL-2.0
/* trace bind: bind(2) of the selected containers, with the address as passed, the socket's type
 * and protocol, and the result. At exit only: the arguments are still in the saved user registers
 * and the kernel has just copied the same sockaddr, so it is resident. User space decodes the
 * sockaddr (family, address, port). */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "bind.h"

char LICENSE[] SEC("license") = "GPL";

const struct sonde_bind_event *sonde_btf_bind_event __attribute__((unused));

/* The socket behind fd in the current task, or NULL (not open, not a socket). */
static __always_inline struct socket *socket_of(struct task_struct *task, int fd)
{
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) < 0 || !file)
        return NULL;
    /* Only a socket file has socket_file_ops; its private_data is the struct socket. Comparing the
     * f_op needs the kernel symbol, so check the inode mode instead: S_IFSOCK. */
    umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
    if ((mode & 0170000) != 0140000)
        return NULL;
    return BPF_CORE_READ(file, private_data);
}

SEC("tracepoint/syscalls/sys_exit_bind")
int sonde_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
    if (!sonde_selected())
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
    struct sonde_bind_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_BIND);
    e->ret = ctx->ret;
    /* x86_64: bind(fd = di, addr = si, addrlen = dx). */
    e->fd = regs->di;
    const void *addr = (const void *)regs->si;
    e->addrlen = regs->dx;
    __u32 len = e->addrlen;
    if (len > SONDE_BIND_ADDR_LEN)
        len = SONDE_BIND_ADDR_LEN;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    e->copied = bpf_probe_read_user(e->addr, len, addr) == 0 ? len : 0;

    struct socket *sock = socket_of(task, e->fd);
    e->sock_type = sock ? BPF_CORE_READ(sock, type) : 0;
    e->protocol = sock ? BPF_CORE_READ(sock, sk, sk_protocol) : 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}
