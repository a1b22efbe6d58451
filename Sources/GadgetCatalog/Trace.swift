import Events

extension GadgetDescription {
    public static let exec = GadgetDescription(
        kind: .trace, name: "exec", eventStream: true,
        abstract: "Trace execve and execveat: who ran what, with its arguments and result.",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "execve or execveat", width: 8),
            .gadget("ret", .result, "0, or the error", width: 7),
            .gadget("path", .string, "the file executed, as passed", width: 24),
            .gadget("args", .strings, "argv (cut at 4 KiB or 128 arguments, marked with ...)", width: 0),
        ], defaultFields: ["container", "pid", "ppid", "comm", "ret", "args"]))

    public static let open = GadgetDescription(
        kind: .trace, name: "open", eventStream: true,
        abstract: "Trace open, openat and openat2: which files containers open, with flags and the fd or error.",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "open, openat or openat2", width: 8),
            .gadget("fd", .result, "the new file descriptor, or the error (ENOENT...)", width: 7),
            .gadget("flags", .string, "open flags, O_RDONLY|O_CLOEXEC", width: 32),
            .gadget("mode", .string, "permissions for a created file (O_CREAT, O_TMPFILE), in octal; empty otherwise", width: 5),
            .gadget("dirfd", .int, "directory a relative path is resolved from (-100: AT_FDCWD)", width: 5),
            .gadget("path", .string, "the path as passed (cut at 255 bytes, marked with ...)", width: 0),
        ], defaultFields: ["container", "pid", "comm", "fd", "flags", "path"]))

    public static let tcp = GadgetDescription(
        kind: .trace, name: "tcp", eventStream: true,
        abstract: "Trace TCP connect, accept and close, IPv4 and IPv6, with both ends and the result.",
        catalog: FieldCatalog(own: [
            .gadget("type", .string, "connect, accept or close", width: 7),
            .gadget("family", .string, "ipv4 or ipv6", header: "IP", width: 4),
            .gadget("src", .string, "source (local) address:port", width: 24),
            .gadget("dst", .string, "destination (remote) address:port", width: 24),
            .gadget("ret", .result, "connect: 0 or the error (EINPROGRESS when non-blocking); accept: the new fd", width: 12),
            .gadget("state", .string, "close: the TCP state the connection left", width: 11),
            .gadget("saddr", .string, "source address", width: 16),
            .gadget("sport", .uint, "source port", width: 5),
            .gadget("daddr", .string, "destination address", width: 16),
            .gadget("dport", .uint, "destination port", width: 5),
        ], defaultFields: ["container", "pid", "comm", "type", "family", "src", "dst", "ret"]))

    public static let bind = GadgetDescription(
        kind: .trace, name: "bind", eventStream: true,
        abstract: "Trace bind: which addresses and ports containers bind, and the result.",
        catalog: FieldCatalog(own: [
            .gadget("fd", .int, "the socket's file descriptor", width: 4),
            .gadget("family", .string, "address family: AF_INET, AF_INET6, AF_UNIX...", width: 9),
            .gadget("proto", .string, "the socket's protocol: TCP, UDP... (empty when the fd is no socket)", width: 5),
            .gadget("type", .string, "the socket's type: SOCK_STREAM, SOCK_DGRAM...", width: 11),
            .gadget("address", .string, "IP address, or the path of a unix socket (@name: abstract)", width: 24),
            .gadget("port", .uint, "port (IP families)", width: 5),
            .gadget("ret", .result, "0, or the error (EADDRINUSE...)", width: 13),
        ], defaultFields: ["container", "pid", "comm", "proto", "address", "port", "ret"]))

    public static let signal = GadgetDescription(
        kind: .trace, name: "signal", eventStream: true,
        abstract: "Trace signals sent by or to containers: sender, target, signal, and what became of it.",
        catalog: FieldCatalog(own: [
            .gadget("signal", .string, "signal name: SIGTERM, SIGKILL, SIGRT_3...", width: 9),
            .gadget("target_pid", .int, "process the signal was sent to (host pid; for a failed call, as passed)", header: "TPID", width: 7),
            .gadget("target_tid", .int, "thread it was sent to", header: "TTID", width: 7),
            .gadget("target_comm", .string, "the target's command name", header: "TCOMM", width: 16),
            .gadget("target_cgroup_id", .uint, "cgroup v2 id of the target", header: "TCGROUP", width: 8),
            .gadget("target_container", .string, "the target's container; empty for a host process", header: "TCONTAINER", width: 16),
            .gadget("code", .string, "si_code: SI_USER (kill), SI_TKILL, SI_KERNEL (sent by the kernel), CLD_EXITED (SIGCHLD)...", width: 10),
            .gadget("group", .bool, "sent to the whole process rather than one thread", width: 5),
            .gadget("result", .string, "delivered, ignored, already_pending, overflow_fail, lose_info, or the error of a failed kill (ESRCH, EPERM)", width: 15),
        ], defaultFields: ["container", "pid", "comm", "signal", "target_pid", "target_comm", "result"]))

    public static let mount = GadgetDescription(
        kind: .trace, name: "mount", eventStream: true,
        abstract: "Trace mount, umount2 and move_mount: what containers mount where, and the result.",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "mount, umount2 or move_mount", width: 10),
            .gadget("source", .string, "what is mounted (device, directory, or a name for virtual filesystems)", width: 16),
            .gadget("target", .string, "where", width: 20),
            .gadget("fstype", .string, "filesystem type, as passed", width: 8),
            .gadget("flags", .string, "MS_* (mount), MNT_* (umount2) or MOVE_MOUNT_* flags", width: 24),
            .gadget("data", .string, "mount options as text (size=64k,mode=755)", width: 16),
            .gadget("ret", .result, "0, or the error (EPERM...)", width: 7),
        ], defaultFields: ["container", "pid", "comm", "syscall", "source", "target", "fstype", "flags", "ret"]))

    public static let capabilities = GadgetDescription(
        kind: .trace, name: "capabilities", eventStream: true,
        abstract: "Trace capability checks: which capability a container needed, for which syscall, and the verdict.",
        catalog: FieldCatalog(own: [
            .gadget("cap", .string, "the capability checked: CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE...", width: 20),
            .gadget("verdict", .string, "allow or deny", width: 7),
            .gadget("ret", .result, "0 (held), or the error the check gives (EPERM)", width: 6),
            .gadget("syscall", .string, "the syscall that needed it; empty outside a syscall", width: 14),
            .gadget("userns", .uint, "inode number of the user namespace the capability was checked in", width: 10),
            .gadget("init_userns", .bool, "checked in the host's initial user namespace", header: "INITNS", width: 6),
        ], defaultFields: ["container", "pid", "comm", "syscall", "cap", "verdict"]))

    public static let oomkill = GadgetDescription(
        kind: .trace, name: "oomkill", eventStream: true,
        abstract: "Trace the OOM killer: which process it killed, its memory, and whose allocation triggered it.",
        catalog: FieldCatalog(own: [
            .gadget("victim_pid", .int, "process killed (host pid)", header: "KPID", width: 7),
            .gadget("victim_comm", .string, "its command name", header: "KCOMM", width: 16),
            .gadget("victim_uid", .uint, "its user id", header: "KUID", width: 6),
            .gadget("victim_cgroup_id", .uint, "its cgroup v2 id", header: "KCGROUP", width: 8),
            .gadget("victim_container", .string, "its container; empty for a host process", header: "KCONTAINER", width: 16),
            .gadget("oom_score_adj", .int, "its oom_score_adj", header: "ADJ", width: 5),
            .gadget("pages", .uint, "its resident pages when chosen (anonymous + file + shmem)", width: 8),
            .gadget("total_vm_pages", .uint, "its address space, in pages", header: "VMPAGES", width: 8),
            .gadget("anon_pages", .uint, "its resident anonymous pages", header: "ANON", width: 8),
            .gadget("file_pages", .uint, "its resident file pages", header: "FILE", width: 8),
            .gadget("shmem_pages", .uint, "its resident shared-memory pages", header: "SHMEM", width: 8),
        ], defaultFields: ["container", "pid", "comm", "victim_pid", "victim_comm", "pages"]))

    /// The fields of the timeline rows, for --fields and the help text.
    public static let startup = GadgetDescription(
        kind: .trace, name: "startup", eventStream: false,
        abstract: "The start-up timeline of each new container: runtime, cgroup, entrypoint, first listen, first accept.",
        catalog: FieldCatalog(own: [
            .gadget("step", .string, "runtime, cgroup, entrypoint, listen, accept, or summary", width: 10),
            .gadget("since_us", .int, "microseconds since the container's first milestone", header: "SINCE(us)", width: 10),
            .gadget("delta_us", .int, "microseconds since the previous milestone", header: "DELTA(us)", width: 10),
            .gadget("detail", .string, "what the milestone was (file, cgroup, port); for a summary, the durations", width: 0),
            .gadget("reached", .strings, "summary: the milestones reached", width: 0),
        ], defaultFields: ["time", "container", "pid", "comm", "step", "since_us", "delta_us", "detail"]))

    public static let ptrace = GadgetDescription(
        kind: .trace, name: "ptrace", eventStream: true,
        abstract: "Trace ptrace calls: which process of a container traced or read which other, and the result.",
        catalog: FieldCatalog(own: [
            .gadget("request", .string, "PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_PEEKDATA, PTRACE_TRACEME... (a number when unknown)", width: 18),
            .gadget("target_pid", .int, "the process traced, as passed (a pid of the caller's pid namespace; 0 for PTRACE_TRACEME)", header: "TPID", width: 7),
            .gadget("addr", .uint, "the addr argument", width: 18),
            .gadget("data", .uint, "the data argument", width: 18),
            .gadget("ret", .result, "0 (or the word a PEEK request read), or the error (EPERM, ESRCH...)", width: 8),
        ], defaultFields: ["container", "pid", "comm", "request", "target_pid", "ret"]))
}
