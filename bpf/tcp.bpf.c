// SPDX-License-Identifier: GPL-2.0
/* trace tcp: connect, accept and close of TCP connections in the selected containers.
 *
 * No kprobes here, so the design rests on tracepoints:
 * - connect: syscalls connect enter (the destination as the caller gave it) and exit (the result;
 *   the socket, found from the fd, has its source address and port by then);
 * - accept: syscalls accept/accept4 exit: the new fd's socket has both ends;
 * - close: sock:inet_sock_set_state to TCP_CLOSE. That often runs in softirq context (a FIN or
 *   RST arriving, the TIME_WAIT handover) where the current task means nothing, so close is only
 *   reported for sockets seen at connect, accept or close(2) (a connection opened before sonde
 *   started, closed by a selected process), under the process that owned them then. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "sonde/task_files.h"
#include <bpf/bpf_endian.h>
#include "tcp.h"

char LICENSE[] SEC("license") = "GPL";

#define SONDE_AF_INET 2
#define SONDE_AF_INET6 10
#define SONDE_IPPROTO_TCP 6
#define SONDE_SOCK_STREAM 1
#define SONDE_TCP_CLOSE_STATE 7 /* TCP_CLOSE */
#define SONDE_EINPROGRESS 115

const struct sonde_tcp_event *sonde_btf_tcp_event __attribute__((unused));

struct connecting {
    __u64 fd;
    __u32 addrlen;
    __u32 have_addr;
    __u8 addr[28]; /* struct sockaddr_in or sockaddr_in6, as the caller passed it */
};

/* connect calls between entry and exit, by tid. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct connecting);
} tcp_connecting SEC(".maps");

/* Connections seen at connect or accept -> the header of their owner, for the close. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct sonde_event_header);
} tcp_owners SEC(".maps");

/* A TCP stream socket of family inet or inet6, or NULL. */
static __always_inline struct sock *tcp_sock_of(__u64 fd)
{
    struct sock *sk = sonde_file_sock(sonde_fd_file(fd));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != SONDE_IPPROTO_TCP || BPF_CORE_READ(sk, sk_type) != SONDE_SOCK_STREAM)
        return NULL;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    return family == SONDE_AF_INET || family == SONDE_AF_INET6 ? sk : NULL;
}

/* Both ends as the socket has them now. */
static __always_inline void fill_from_sock(struct sonde_tcp_event *e, struct sock *sk)
{
    e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
    e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (e->family == SONDE_AF_INET) {
        bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
        bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
    } else {
        bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
    }
}

static __always_inline struct sonde_tcp_event *reserve(__u32 type)
{
    struct sonde_tcp_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return NULL;
    }
    __builtin_memset(&e->retval, 0, sizeof(*e) - offsetof(struct sonde_tcp_event, retval));
    e->type = type;
    return e;
}

/* Remembers who owns a connection, for its close. */
static __always_inline void own(struct sock *sk, struct sonde_event_header *hdr)
{
    __u64 key = (__u64)sk;
    /* Through the stack: Linux 6.1's verifier takes no ring buffer record as a map value. */
    struct sonde_event_header copy = *hdr;
    if (bpf_map_update_elem(&tcp_owners, &key, &copy, BPF_ANY) < 0)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sonde_tcp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
    if (!sonde_selected())
        return 0;
    struct connecting c = { .fd = ctx->args[0], .addrlen = ctx->args[2] };
    const void *addr = (const void *)ctx->args[1];
    /* Copy the destination now: a failed connect wipes it from the socket before the exit. */
    if (addr && c.addrlen >= sizeof(c.addr))
        c.have_addr = bpf_probe_read_user(c.addr, sizeof(c.addr), addr) == 0;
    else if (addr && c.addrlen >= 16)
        c.have_addr = bpf_probe_read_user(c.addr, 16, addr) == 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (bpf_map_update_elem(&tcp_connecting, &tid, &c, BPF_ANY) < 0)
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sonde_tcp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct connecting *c = bpf_map_lookup_elem(&tcp_connecting, &tid);
    if (!c)
        return 0;
    struct sock *sk = tcp_sock_of(c->fd);
    if (!sk) {
        bpf_map_delete_elem(&tcp_connecting, &tid);
        return 0;
    }
    struct sonde_tcp_event *e = reserve(SONDE_TCP_CONNECT);
    if (!e) {
        bpf_map_delete_elem(&tcp_connecting, &tid);
        return 0;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_TCP);
    e->retval = ctx->ret;
    fill_from_sock(e, sk);
    /* The destination as asked (sockaddr_in: family, port, addr; sockaddr_in6: family, port,
     * flowinfo, addr), which a failed attempt no longer has on the socket. */
    __u16 family = *(__u16 *)c->addr;
    if (c->have_addr && family == SONDE_AF_INET) {
        e->family = family;
        e->dport = bpf_ntohs(*(__u16 *)&c->addr[2]);
        __builtin_memset(e->daddr, 0, sizeof(e->daddr));
        __builtin_memcpy(e->daddr, &c->addr[4], 4);
    } else if (c->have_addr && family == SONDE_AF_INET6 && c->addrlen >= sizeof(c->addr)) {
        e->family = family;
        e->dport = bpf_ntohs(*(__u16 *)&c->addr[2]);
        __builtin_memcpy(e->daddr, &c->addr[8], 16);
    }
    bpf_map_delete_elem(&tcp_connecting, &tid);
    if (ctx->ret == 0 || ctx->ret == -SONDE_EINPROGRESS)
        own(sk, &e->hdr);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

static __always_inline int on_accept_exit(long ret)
{
    if (ret < 0 || !sonde_selected())
        return 0;
    struct sock *sk = tcp_sock_of(ret);
    if (!sk)
        return 0;
    struct sonde_tcp_event *e = reserve(SONDE_TCP_ACCEPT);
    if (!e)
        return 0;
    sonde_fill_header(&e->hdr, SONDE_KIND_TCP);
    e->retval = ret;
    fill_from_sock(e, sk);
    own(sk, &e->hdr);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sonde_tcp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
    return on_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sonde_tcp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
    return on_accept_exit(ctx->ret);
}

#define SONDE_TCP_LISTEN 10

/* A connection sonde did not see opening, being closed by a selected process: remember that
 * process, so the close, which the kernel may finish later in softirq context, is attributed. */
SEC("tracepoint/syscalls/sys_enter_close")
int sonde_tcp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
    if (!sonde_selected())
        return 0;
    struct sock *sk = tcp_sock_of(ctx->args[0]);
    if (!sk)
        return 0;
    __u64 key = (__u64)sk;
    if (bpf_map_lookup_elem(&tcp_owners, &key))
        return 0;
    __u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
    if (state == SONDE_TCP_LISTEN || state == SONDE_TCP_CLOSE_STATE)
        return 0;
    struct sonde_event_header hdr;
    sonde_fill_header(&hdr, SONDE_KIND_TCP);
    /* Only if still unknown: a concurrent connect or accept's owner wins. */
    if (bpf_map_update_elem(&tcp_owners, &key, &hdr, BPF_NOEXIST) < 0 && !bpf_map_lookup_elem(&tcp_owners, &key))
        sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
    return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int sonde_tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
    if (ctx->newstate != SONDE_TCP_CLOSE_STATE || ctx->protocol != SONDE_IPPROTO_TCP)
        return 0;
    __u64 key = (__u64)ctx->skaddr;
    struct sonde_event_header *owner = bpf_map_lookup_elem(&tcp_owners, &key);
    if (!owner)
        return 0;
    struct sonde_tcp_event *e = reserve(SONDE_TCP_CLOSE);
    if (!e) {
        bpf_map_delete_elem(&tcp_owners, &key);
        return 0;
    }
    /* Whose connection it was, not whoever runs now (softirq). */
    __builtin_memcpy(&e->hdr, owner, sizeof(e->hdr));
    e->hdr.timestamp_ns = bpf_ktime_get_boot_ns();
    e->state = ctx->oldstate;
    e->family = ctx->family;
    e->sport = ctx->sport;
    e->dport = ctx->dport;
    /* Copied with a helper: the verifier refuses loads through a ctx pointer plus an offset. */
    if (ctx->family == SONDE_AF_INET) {
        bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
        bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
    } else {
        bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
        bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
    }
    bpf_map_delete_elem(&tcp_owners, &key);
    bpf_ringbuf_submit(e, 0);
    return 0;
}
