import Events

/// What a gadget is, as a user and a client see it: its command, what it shows, and its fields.
/// Kept apart from the gadgets' BPF (Sources/Gadgets) so that clients such as `kubectl-sonde` know
/// every gadget's columns without linking libbpf or any BPF object.
public struct GadgetDescription: Sendable {
    /// The command group the gadget is under: `sonde trace exec`, `sonde top file`...
    public enum Kind: String, Sendable {
        case trace, top, snapshot, advise
        /// The seccomp supervisor's decisions: an event source for audit rules and cluster mode,
        /// shown by `sonde supervise --events`.
        case supervise
    }

    public let kind: Kind
    /// As typed after the group: "exec" in `sonde trace exec`.
    public let name: String
    /// One event per kernel record, streamed by the daemon's RunGadget: audit rules, `sonde daemon
    /// trace` and cluster mode can name it. (A timeline, a table refreshed each interval or a
    /// profile is not such a stream.)
    public let eventStream: Bool
    /// The one-line help of its command.
    public let abstract: String
    /// Every field of its events or rows, and the default columns.
    public let catalog: FieldCatalog

    /// "trace exec".
    public var command: String { "\(kind.rawValue) \(name)" }

    /// A command's help `discussion`: the fields with their types, and the default columns.
    public var fieldsHelp: String {
        "Fields (for --fields and --filter; -o json carries them all):\n" + catalog.help
            + "\n\nDefault columns: " + catalog.defaultFields.joined(separator: ",")
    }
}

/// Every gadget sonde has, in the order help texts list them. A new gadget adds its description
/// here; the test GadgetRegistryTests fails until the CLI, the daemon, audit rules and cluster mode
/// all offer it (they derive their lists from this one and from Gadgets' `GadgetRegistry`).
public enum GadgetCatalog {
    public static let all: [GadgetDescription] = [
        .exec, .open, .tcp, .bind, .signal, .mount, .capabilities, .oomkill, .startup, .ptrace,
        .topFile, .topTcp, .topSyscalls, .topContainers,
        .processSnapshot, .socketSnapshot,
        .seccompProfile,
    ]

    /// The gadgets of one command group, in help order.
    public static func group(_ kind: GadgetDescription.Kind) -> [GadgetDescription] {
        all.filter { $0.kind == kind }
    }

    /// The event streams the daemon serves (RunGadget), by name.
    public static var eventStreams: [GadgetDescription] { all.filter(\.eventStream) }

    public static func eventStream(named name: String) -> GadgetDescription? {
        eventStreams.first { $0.name == name }
    }
}
