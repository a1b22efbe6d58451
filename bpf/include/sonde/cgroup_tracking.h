/* Programs that follow cgroup v2 creation and removal, for gadgets that must see containers
 * started while they run. A new cgroup is marked pending in sonde_cgroups the moment it exists,
 * before any task can join it, so the first syscall of a new container is never missed; user
 * space then resolves it to a container (selected) or drops it. Include once per object. */
#ifndef SONDE_CGROUP_TRACKING_H
#define SONDE_CGROUP_TRACKING_H

#include "sonde/common.h"

/* Only used through a pointer in an inlined function, which puts no type in BTF; this makes the
 * compiler keep it, so user space can check its layout against the object. */
const struct sonde_cgroup_event *sonde_btf_cgroup_event __attribute__((unused));

static __always_inline void sonde_emit_cgroup_event(struct cgroup *cgrp, const char *path, __u32 kind)
{
    struct sonde_cgroup_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return;
    }
    sonde_fill_header(&e->hdr, kind);
    e->hdr.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
    e->level = BPF_CORE_READ(cgrp, level);
    long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
    e->path_len = n > 0 ? n : 0;
    bpf_ringbuf_submit(e, 0);
}

/* Only the hierarchy containers are keyed by: the unified one (hierarchy id 0), or on v1-only
 * hosts the pids controller's (see sonde_v1_pids). */
static __always_inline bool sonde_is_v2(struct cgroup *cgrp)
{
    return sonde_keyed_hierarchy(cgrp, sonde_v1_pids);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(sonde_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
    if (!sonde_filter_by_cgroup || !sonde_track_new_cgroups || !sonde_is_v2(cgrp))
        return 0;
    __u64 id = BPF_CORE_READ(cgrp, kn, id);
    __u8 pending = SONDE_CGROUP_PENDING;
    bpf_map_update_elem(&sonde_cgroups, &id, &pending, BPF_NOEXIST);
#ifdef SONDE_DISPATCH_CONSUMER_H
    /* A consumer of the syscall dispatcher: its calls come here from the first one on. */
    sonde_dispatch_want(id, sonde_dispatch_bit());
#endif
    sonde_emit_cgroup_event(cgrp, path, SONDE_KIND_CGROUP_CREATED);
    return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(sonde_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
    if (!sonde_filter_by_cgroup || !sonde_is_v2(cgrp))
        return 0;
    __u64 id = BPF_CORE_READ(cgrp, kn, id);
    /* Only tell user space about cgroups it had an interest in. */
    if (bpf_map_delete_elem(&sonde_cgroups, &id) == 0)
        sonde_emit_cgroup_event(cgrp, path, SONDE_KIND_CGROUP_REMOVED);
    return 0;
}

#endif
