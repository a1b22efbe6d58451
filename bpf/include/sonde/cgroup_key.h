/* The cgroup id containers are keyed by, for programs that read it through BTF (the helper
 * bpf_get_current_cgroup_id() costs a call, tens of nanoseconds with this kernel's return thunks).
 * On hosts with cgroup v1 only, the unified hierarchy is not mounted and reports its root for
 * every task, so the pids controller's v1 hierarchy stands in for it. Needs vmlinux.h and
 * bpf_core_read.h. */
#ifndef SONDE_CGROUP_KEY_H
#define SONDE_CGROUP_KEY_H

/* The task's cgroup in the pids controller's hierarchy: task->cgroups->subsys[pids_cgrp_id]. The
 * index is the running kernel's (CO-RE), and the verifier takes no computed index into a kernel
 * struct, so the slot is probe-read. */
static __always_inline __u64 sonde_pids_cgroup_id(struct task_struct *task)
{
    struct cgroup_subsys_state *css = NULL;
    __u32 index = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
    void *slots = (void *)BPF_CORE_READ(task, cgroups) + bpf_core_field_offset(struct css_set, subsys);
    bpf_probe_read_kernel(&css, sizeof(css), slots + (index & 63) * sizeof(css));
    return BPF_CORE_READ(css, cgroup, kn, id);
}

/* Whether a cgroup is in the hierarchy containers are keyed by: the unified one (hierarchy id 0),
 * or with `pids` the pids controller's. Ids of different hierarchies may be equal. */
static __always_inline bool sonde_keyed_hierarchy(struct cgroup *cgrp, bool pids)
{
    if (pids)
        return BPF_CORE_READ(cgrp, root, subsys_mask) & (1u << bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id));
    return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
}

#endif
