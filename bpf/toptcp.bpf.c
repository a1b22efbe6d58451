// SPDX-License-Identifier: GPL-2.0
/* top tcp: bytes sent and received per TCP connection per process, aggregated in the kernel.
 * sock:sock_send_length and sock:sock_recv_length fire in sock_sendmsg/sock_recvmsg, in the
 * calling process, for every way a process moves data through a socket (send*, recv*, read,
 * write, readv, writev...), with the struct sock and the byte count. */
#include "sonde/common.h"
#include "sonde/cgroup_tracking.h"
#include "toptcp.h"

char LICENSE[] SEC("license") = "GPL";

#define SONDE_AF_INET 2
#define SONDE_AF_INET6 10
#define SONDE_IPPROTO_TCP 6
#define SONDE_MSG_PEEK 2

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, struct sonde_toptcp_key);
    __type(value, struct sonde_toptcp_value);
} toptcp_stats SEC(".maps");

/* The last known ends of each connection: a reset releases the local port (it reads 0), yet data
 * still queued is read after it; the row keeps the connection's ends. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct sonde_toptcp_endpoints);
} toptcp_endpoints SEC(".maps");

const struct sonde_toptcp_key *sonde_btf_toptcp_key __attribute__((unused));
const struct sonde_toptcp_value *sonde_btf_toptcp_value __attribute__((unused));

static __always_inline void read_endpoints(struct sock *sk, __u16 family, struct sonde_toptcp_endpoints *ends)
{
    ends->family = family;
    ends->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    ends->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (family == SONDE_AF_INET) {
        bpf_core_read(ends->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
        bpf_core_read(ends->daddr, 4, &sk->__sk_common.skc_daddr);
    } else {
        bpf_core_read(ends->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        bpf_core_read(ends->daddr, 16, &sk->__sk_common.skc_v6_daddr);
    }
    __u64 key = (__u64)sk;
    if (ends->sport != 0 && ends->dport != 0) {
        bpf_map_update_elem(&toptcp_endpoints, &key, ends, BPF_ANY);
    } else {
        struct sonde_toptcp_endpoints *known = bpf_map_lookup_elem(&toptcp_endpoints, &key);
        if (known)
            *ends = *known;
    }
}

static __always_inline int account(struct trace_event_raw_sock_msg_length *ctx, bool sent)
{
    if (ctx->ret <= 0 || ctx->protocol != SONDE_IPPROTO_TCP ||
        (ctx->family != SONDE_AF_INET && ctx->family != SONDE_AF_INET6))
        return 0;
    /* A peek leaves the data in the queue: it is counted when really read. */
    if (!sent && (ctx->flags & SONDE_MSG_PEEK))
        return 0;
    if (!sonde_selected())
        return 0;

    struct sock *sk = ctx->sk;
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    struct sonde_toptcp_key key = {
        .cgroup_id = sonde_cgroup_id(),
        .sock = (__u64)sk,
        .pid = pid_tgid >> 32,
    };
    struct sonde_toptcp_value *value = bpf_map_lookup_elem(&toptcp_stats, &key);
    if (!value) {
        struct task_struct *task = (struct task_struct *)bpf_get_current_task();
        __u64 uid_gid = bpf_get_current_uid_gid();
        struct sonde_toptcp_value fresh = {
            .mntns_id = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum),
            .tid = (__u32)pid_tgid,
            .ppid = BPF_CORE_READ(task, real_parent, tgid),
            .uid = (__u32)uid_gid,
            .gid = uid_gid >> 32,
        };
        bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
        read_endpoints(sk, ctx->family, &fresh.ends);
        bpf_map_update_elem(&toptcp_stats, &key, &fresh, BPF_NOEXIST);
        value = bpf_map_lookup_elem(&toptcp_stats, &key);
        if (!value) {
            /* The table is full until user space empties it at the end of the interval. */
            sonde_count_lost(SONDE_LOST_INFLIGHT_FULL);
            return 0;
        }
    }
    if (sent) {
        __sync_fetch_and_add(&value->sent, ctx->ret);
        __sync_fetch_and_add(&value->sends, 1);
    } else {
        __sync_fetch_and_add(&value->received, ctx->ret);
        __sync_fetch_and_add(&value->receives, 1);
    }
    return 0;
}

SEC("tracepoint/sock/sock_send_length")
int sonde_toptcp_send(struct trace_event_raw_sock_msg_length *ctx)
{
    return account(ctx, true);
}

SEC("tracepoint/sock/sock_recv_length")
int sonde_toptcp_recv(struct trace_event_raw_sock_msg_length *ctx)
{
    return account(ctx, false);
}
