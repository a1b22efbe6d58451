/// One argument of a syscall as the kernel declares it (tracefs `sys_enter_*` format).
public struct SyscallArgument: Sendable, Hashable {
    /// The kernel's parameter name (`filename`, `flags`...).
    public let name: String
    /// The kernel's C type (`const char *`, `unsigned int`...).
    public let type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// Whether a syscall comes back to its caller.
public enum SyscallReturn: Sendable, Hashable {
    /// Returns a value (or -errno).
    case returns
    /// Never returns: exit, exit_group.
    case never
    /// Does not return when it succeeds (the caller's image is replaced): execve, execveat.
    case neverOnSuccess
}

/// One syscall of a table: its number, name, kernel arguments, what the recorder captures for each
/// argument, and how it returns.
public struct Syscall: Sendable {
    public let number: Int
    public let name: String
    /// The kernel's arguments, from tracefs. Empty when `argumentsKnown` is false.
    public let arguments: [SyscallArgument]
    /// Whether tracefs had a format for this syscall on the machine that generated the table.
    public let argumentsKnown: Bool
    /// What the flight recorder copies per argument (same count as the arguments sonde decodes:
    /// `arguments.count` when known, else the count of the formatting schema).
    public let captures: [ArgumentCapture]
    public let returnBehavior: SyscallReturn
    let schema: Schema

    /// Whether sonde formats this syscall as strace does, argument by argument (as opposed to the
    /// generic fallback that prints integers and pointers by their C type).
    public var hasDedicatedFormat: Bool { schema.dedicated }

    /// How far sonde's formatting of this syscall goes, against strace 6.1's.
    public enum Decoding: String, Sendable, CaseIterable {
        /// Every argument as strace prints it, output structs included.
        case strace
        /// A plan of its own that still differs from strace for some argument (see Schema.partial).
        case partial
        /// Named, with its arguments printed by their C types (integers, pointers, paths).
        case generic
    }

    public var decoding: Decoding {
        if hasDedicatedFormat { return .strace }
        return Schema.partial.contains(name) ? .partial : .generic
    }

    /// The arguments that are file descriptors (an fd, or a directory fd of the *at calls).
    public var descriptorArguments: [Int] {
        schema.arguments.indices.filter { index in
            switch schema.arguments[index] {
            case .fd, .dirfd: return true
            default: return false
            }
        }
    }
}

/// A syscall table of one architecture, indexed by number and by name.
public struct SyscallTable: Sendable {
    public let architecture: String
    /// By number; nil for the holes of the numbering (x86_64 has none below 335...424).
    private let byNumber: [Syscall?]
    private let byName: [String: Int]

    /// Every syscall, by increasing number.
    public var syscalls: [Syscall] { byNumber.compactMap { $0 } }

    /// The highest syscall number in the table.
    public var maxNumber: Int { byNumber.count - 1 }

    public subscript(number: Int) -> Syscall? {
        number >= 0 && number < byNumber.count ? byNumber[number] : nil
    }

    public subscript(name: String) -> Syscall? {
        byName[name].flatMap { byNumber[$0] }
    }

    /// The number of the syscall called `name`, if the table has one.
    public func number(of name: String) -> Int? { byName[name] }

    /// The capture schema the recorder loads: one entry per syscall number (empty arrays for holes
    /// and for syscalls whose arguments are only registers).
    public func captureSchema() -> [[ArgumentCapture]] {
        byNumber.map { entry in
            guard let entry, entry.captures.contains(where: { $0 != .value }) else { return [] }
            return entry.captures
        }
    }

    init(architecture: String, definitions: [SyscallDefinition]) {
        let count = (definitions.map(\.number).max() ?? -1) + 1
        var byNumber = [Syscall?](repeating: nil, count: count)
        var byName: [String: Int] = [:]
        for definition in definitions {
            let schema = Schema.make(name: definition.name, kernelArguments: definition.arguments)
            let arguments = definition.arguments ?? []
            byNumber[definition.number] = Syscall(
                number: definition.number,
                name: definition.name,
                arguments: arguments,
                argumentsKnown: definition.arguments != nil,
                captures: schema.captures,
                returnBehavior: schema.returnBehavior,
                schema: schema)
            byName[definition.name] = definition.number
        }
        self.architecture = architecture
        self.byNumber = byNumber
        self.byName = byName
    }

    /// The x86_64 table, generated from the kernel by scripts/gen-syscalls.py.
    public static let x86_64 = SyscallTable(architecture: "x86_64", definitions: x86_64Definitions)
}

/// A row of a generated table.
struct SyscallDefinition: Sendable {
    let number: Int
    let name: String
    /// nil when tracefs had no format for it.
    let arguments: [SyscallArgument]?

    init(_ number: Int, _ name: String, _ arguments: [SyscallArgument]?) {
        self.number = number
        self.name = name
        self.arguments = arguments
    }
}

/// Shorthand for the generated table.
@inline(__always)
func A(_ name: String, _ type: String) -> SyscallArgument { SyscallArgument(name: name, type: type) }
