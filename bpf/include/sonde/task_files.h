/* From a file descriptor of the current task to its struct file, and from there to a socket.
 * Syscall tracepoints give fds; what the gadgets report (a file's name and inode, a connection's
 * addresses) hangs off the struct file. Reads go through BPF_CORE_READ (probe reads), so the
 * helpers work from classic tracepoints as well as tp_btf. */
#ifndef SONDE_TASK_FILES_H
#define SONDE_TASK_FILES_H

#include "sonde/common.h"

#define SONDE_S_IFMT 00170000
#define SONDE_S_IFREG 0100000
#define SONDE_S_IFSOCK 0140000

/* The file behind `fd` in the current task, or NULL (closed meanwhile, or out of range). */
static __always_inline struct file *sonde_fd_file(__u64 fd)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) < 0)
        return NULL;
    return file;
}

static __always_inline __u32 sonde_file_mode(struct file *file)
{
    return BPF_CORE_READ(file, f_inode, i_mode);
}

/* The struct sock of a socket file, or NULL when the file is no socket. */
static __always_inline struct sock *sonde_file_sock(struct file *file)
{
    if (!file || (sonde_file_mode(file) & SONDE_S_IFMT) != SONDE_S_IFSOCK)
        return NULL;
    struct socket *socket = BPF_CORE_READ(file, private_data);
    return socket ? BPF_CORE_READ(socket, sk) : NULL;
}

#endif
