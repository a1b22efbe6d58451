import Events

extension GadgetDescription {
    public static let supervise = GadgetDescription(
        kind: .supervise, name: "supervise", eventStream: false,
        abstract: "The seccomp supervisor's decisions (`sonde supervise --events`, the daemon's WatchSupervisor).",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "the supervised syscall: mount, mknod...", width: 10),
            .gadget("args", .string, "its arguments, strace-like", width: 30),
            .gadget("verdict", .string, "allow, deny, kill, would-allow or would-deny (log-only policy)", width: 11),
            .gadget("ret", .result, "the answer given: a result, or the error (EPERM...)", width: 7),
            .gadget("latency_us", .uint, "how long the answer took, in microseconds", width: 8),
            .gadget("rule", .string, "the policy rule that decided", width: 16),
        ], defaultFields: ["container", "pid", "comm", "syscall", "verdict", "rule"]))
}
