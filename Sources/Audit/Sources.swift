import Events
import Gadgets

/// What a rule can watch: the events of a gadget (by its `sonde trace` name) or the supervisor's
/// decisions, each with its field catalogue.
public enum AuditSources {
    /// The gadgets rules can name, in the order they are listed in help texts.
    public static let gadgets: [any Gadget] = [
        ExecGadget(), OpenGadget(), BindGadget(), SignalGadget(), CapabilitiesGadget(), MountGadget(),
        OOMKillGadget(), TcpGadget(), PtraceGadget(),
    ]

    /// The seccomp supervisor's decisions (`sonde supervise --events`, the daemon's WatchSupervisor):
    /// events of source "supervise" made in Sources/Supervisor/Session.swift.
    public static let supervise = "supervise"

    public static let superviseCatalog = FieldCatalog(own: [
        .gadget("syscall", .string, "the supervised syscall: mount, mknod...", width: 10),
        .gadget("args", .string, "its arguments, strace-like", width: 30),
        .gadget("verdict", .string, "allow, deny, kill, would-allow or would-deny (log-only policy)", width: 11),
        .gadget("ret", .result, "the answer given: a result, or the error (EPERM...)", width: 7),
        .gadget("latency_us", .uint, "how long the answer took, in microseconds", width: 8),
        .gadget("rule", .string, "the policy rule that decided", width: 16),
    ], defaultFields: ["container", "pid", "comm", "syscall", "verdict", "rule"])

    public static var names: [String] { gadgets.map(\.name) + [supervise] }

    public static func catalog(_ source: String) -> FieldCatalog? {
        if source == supervise { return superviseCatalog }
        return gadget(source)?.catalog
    }

    public static func gadget(_ source: String) -> (any Gadget)? {
        gadgets.first { $0.name == source }
    }
}
