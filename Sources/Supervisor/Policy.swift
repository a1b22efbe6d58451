import Foundation
import LinuxKit

/// What the supervisor does with intercepted calls, per container. Read from a JSON file:
///
/// ```json
/// {
///   "default": "EPERM",
///   "logOnly": false,
///   "containers": [
///     { "name": "devices",
///       "match": { "metadata": "devices", "id": "web-*", "annotations": { "sonde.supervise": "devices" } },
///       "mknod": [ { "type": "char", "major": 1, "minor": 3 }, { "type": "char", "major": 0, "minor": 0 } ],
///       "mount": [ { "fstype": "tmpfs", "flags": ["nosuid", "nodev"] },
///                  { "fstype": "proc" }, { "fstype": "sysfs", "require": ["rdonly"] },
///                  { "fstype": "bind", "flags": ["rec"] } ],
///       "setxattr": [ "trusted.overlay.opaque", "user.*" ],
///       "default": "EPERM" } ] }
/// ```
/// The first entry whose `match` fits the container applies (an entry without `match` fits all);
/// a container no entry fits gets the top-level `default` for every call.
public struct Policy: Sendable, Equatable {
    public var defaultAction: Action
    public var logOnly: Bool
    public var entries: [Entry]

    /// What happens to a call no rule allows.
    public enum Action: Sendable, Equatable, CustomStringConvertible {
        /// Fail the call with this errno.
        case errno(Errno)
        /// Kill the calling process (SIGKILL).
        case kill

        public var description: String {
            switch self {
            case .errno(let e): return e.name
            case .kill: return "kill"
            }
        }
    }

    /// Which containers an entry applies to; every given condition must hold.
    public struct Match: Sendable, Equatable {
        /// Equal to the runtime's `listenerMetadata`.
        public var metadata: String?
        /// The container id; a trailing `*` matches a prefix.
        public var id: String?
        /// Each must be present with this value in the container's OCI annotations.
        public var annotations: [String: String] = [:]

        public init(metadata: String? = nil, id: String? = nil, annotations: [String: String] = [:]) {
            self.metadata = metadata
            self.id = id
            self.annotations = annotations
        }

        public func matches(_ identity: ContainerIdentity) -> Bool {
            if let metadata, metadata != identity.metadata { return false }
            if let id, !Policy.glob(id, identity.id) { return false }
            for (key, value) in annotations where identity.annotations[key] != value { return false }
            return true
        }
    }

    public enum DeviceType: String, Sendable, Equatable, CaseIterable {
        case char, block, fifo, socket, regular
    }

    /// One allowed mknod: a type, and for devices a major:minor (nil = any).
    public struct DeviceRule: Sendable, Equatable, CustomStringConvertible {
        public var type: DeviceType
        public var major: UInt32?
        public var minor: UInt32?

        public var description: String {
            switch type {
            case .char, .block:
                return "\(type.rawValue) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*")"
            default: return type.rawValue
            }
        }
    }

    /// One allowed mount: the filesystem type ("bind" for bind mounts), an optional exact source,
    /// the flags the caller may add, and the flags it must set.
    public struct MountRule: Sendable, Equatable, CustomStringConvertible {
        public var fstype: String
        public var source: String?
        public var allowedFlags: MountFlags
        public var requiredFlags: MountFlags

        public var description: String {
            var text = "mount \(fstype)"
            if let source { text += " from \(source)" }
            if !requiredFlags.isEmpty { text += " " + requiredFlags.names.joined(separator: ",") }
            return text
        }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var match: Match
        public var mknod: [DeviceRule]
        public var mount: [MountRule]
        /// Attribute names; a trailing `*` matches a prefix.
        public var setxattr: [String]
        public var defaultAction: Action?
        public var logOnly: Bool?
        /// Emulate allowed calls for callers that are not root in the container too (by default they
        /// get the kernel's EPERM, as they would without sonde).
        public var allowNonRootCallers = false
        /// "entry: rule" for each rule, as events show it: made once when the policy is read, not per call.
        public internal(set) var labels = Labels()
    }

    public struct Labels: Sendable, Equatable {
        public var mknod: [String] = [], mount: [String] = [], setxattr: [String] = []
    }

    /// The entry for a container, if any.
    public func entry(for identity: ContainerIdentity) -> Entry? {
        entries.first { $0.match.matches(identity) }
    }

    /// The syscalls a container running under this policy must send to the supervisor.
    public var interceptedSyscalls: [String] {
        var names: [String] = []
        if entries.contains(where: { !$0.mknod.isEmpty }) { names += ["mknod", "mknodat"] }
        if entries.contains(where: { !$0.mount.isEmpty }) { names += ["mount"] }
        if entries.contains(where: { !$0.setxattr.isEmpty }) { names += ["setxattr", "lsetxattr", "fsetxattr"] }
        return names
    }

    /// Filesystems that expose kernel state or host-wide control: no container is given these, with
    /// or without a user namespace. A rule naming one is rejected when the policy is read.
    public static let neverMountable: Set<String> = [
        "debugfs", "tracefs", "securityfs", "bpf", "devtmpfs", "configfs", "efivarfs", "binfmt_misc", "pstore",
        "fusectl", "nfsd", "rpc_pipefs", "selinuxfs", "resctrl", "nsfs", "sockfs", "pipefs", "autofs",
    ]
    /// Filesystems that need no device or remote source; every other type is disk- or network-backed
    /// and its rule must name the `source`, or any block device node the container has could be mounted.
    public static let sourceless: Set<String> = [
        "proc", "sysfs", "tmpfs", "ramfs", "devpts", "mqueue", "cgroup", "cgroup2", "hugetlbfs", "overlay", "fuse",
    ]

    /// What may be mounted with the host's privileges, for a container without its own user
    /// namespace (see Decision.decide): filesystems with no view of the host - tmpfs, ramfs, and a
    /// disk filesystem from the source its rule names.
    static func mountableWithHostPrivileges(_ fstype: String) -> Bool {
        fstype == "tmpfs" || fstype == "ramfs" || !(sourceless.contains(fstype) || fstype.hasPrefix("fuse.") || neverMountable.contains(fstype))
    }

    static func glob(_ pattern: String, _ text: String) -> Bool {
        pattern.hasSuffix("*") ? text.hasPrefix(pattern.dropLast()) : pattern == text
    }
}

/// Mount flags by the names people write in a policy (`rdonly`, `nosuid`, ...).
public struct MountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let rdonly = MountFlags(rawValue: 0x1)       // MS_RDONLY
    public static let nosuid = MountFlags(rawValue: 0x2)       // MS_NOSUID
    public static let nodev = MountFlags(rawValue: 0x4)        // MS_NODEV
    public static let noexec = MountFlags(rawValue: 0x8)       // MS_NOEXEC
    public static let synchronous = MountFlags(rawValue: 0x10) // MS_SYNCHRONOUS
    public static let remount = MountFlags(rawValue: 0x20)     // MS_REMOUNT
    public static let mandlock = MountFlags(rawValue: 0x40)
    public static let dirsync = MountFlags(rawValue: 0x80)
    public static let nosymfollow = MountFlags(rawValue: 0x100)
    public static let noatime = MountFlags(rawValue: 0x400)
    public static let nodiratime = MountFlags(rawValue: 0x800)
    public static let bind = MountFlags(rawValue: 0x1000)      // MS_BIND
    public static let move = MountFlags(rawValue: 0x2000)      // MS_MOVE
    public static let rec = MountFlags(rawValue: 0x4000)       // MS_REC
    public static let silent = MountFlags(rawValue: 0x8000)
    public static let unbindable = MountFlags(rawValue: 1 << 17)
    public static let `private` = MountFlags(rawValue: 1 << 18)
    public static let slave = MountFlags(rawValue: 1 << 19)
    public static let shared = MountFlags(rawValue: 1 << 20)
    public static let relatime = MountFlags(rawValue: 1 << 21)
    public static let strictatime = MountFlags(rawValue: 1 << 24)
    public static let lazytime = MountFlags(rawValue: 1 << 25)

    /// The kernel ignores these top bits when they hold the old magic (MS_MGC_VAL 0xC0ED0000).
    static let magicMask: UInt64 = 0xffff0000
    static let magic: UInt64 = 0xC0ED0000

    public static let named: [(String, MountFlags)] = [
        ("rdonly", .rdonly), ("nosuid", .nosuid), ("nodev", .nodev), ("noexec", .noexec),
        ("synchronous", .synchronous), ("remount", .remount), ("mandlock", .mandlock), ("dirsync", .dirsync),
        ("nosymfollow", .nosymfollow), ("noatime", .noatime), ("nodiratime", .nodiratime), ("bind", .bind),
        ("move", .move), ("rec", .rec), ("silent", .silent), ("unbindable", .unbindable), ("private", .private),
        ("slave", .slave), ("shared", .shared), ("relatime", .relatime), ("strictatime", .strictatime),
        ("lazytime", .lazytime),
    ]

    /// The flags a mount(2) call carries, without the legacy magic number.
    public init(syscallFlags: UInt64) {
        var value = syscallFlags
        if value & Self.magicMask == Self.magic { value &= ~Self.magicMask }
        self.init(rawValue: value)
    }

    public var names: [String] {
        var out = MountFlags.named.filter { contains($0.1) }.map(\.0)
        let unknown = rawValue & ~MountFlags.named.reduce(0) { $0 | $1.1.rawValue }
        if unknown != 0 { out.append("0x" + String(unknown, radix: 16)) }
        return out
    }
}

/// What the supervisor knows about a container from the runtime's message.
public struct ContainerIdentity: Sendable, Equatable {
    public var id: String
    public var metadata: String
    public var annotations: [String: String]
    public var bundle: String?

    public init(id: String, metadata: String = "", annotations: [String: String] = [:], bundle: String? = nil) {
        self.id = id
        self.metadata = metadata
        self.annotations = annotations
        self.bundle = bundle
    }
}

// MARK: - Reading

extension Policy {
    /// Reads and validates a policy file; errors name the file and the offending key.
    public static func load(path: String) throws(SondeError) -> Policy {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SondeError(.notFound, "cannot read policy \(path)", hint: "give an existing JSON file with --policy")
        }
        do { return try parse(data) } catch {
            throw SondeError(.invalidArgument, "policy \(path): \(error.message)", hint: error.hint)
        }
    }

    /// Parses a policy document. Unknown keys are errors, so a misspelt rule is never silently ignored.
    public static func parse(_ data: Data) throws(SondeError) -> Policy {
        let root = try JSONValue.parse(data)
        let reader = try Reader(root, path: "")
        try reader.only(["default", "logOnly", "containers"])
        var policy = Policy(defaultAction: .errno(Errno(rawValue: EPERM)), logOnly: false, entries: [])
        if let action = try reader.string("default") { policy.defaultAction = try parseAction(action, at: reader.path("default")) }
        policy.logOnly = try reader.bool("logOnly") ?? false
        for (index, item) in try reader.array("containers").enumerated() {
            policy.entries.append(try parseEntry(try Reader(item, path: reader.path("containers") + "[\(index)]"), index: index))
        }
        return policy
    }

    static func parseAction(_ text: String, at path: String) throws(SondeError) -> Action {
        if text == "kill" { return .kill }
        guard let errno = Errno(name: text) else {
            throw SondeError(.invalidArgument, "\(path): '\(text)' is neither \"kill\" nor an errno name such as EPERM")
        }
        return .errno(errno)
    }

    static func parseEntry(_ reader: Reader, index: Int) throws(SondeError) -> Entry {
        try reader.only(["name", "match", "mknod", "mount", "setxattr", "default", "logOnly", "allowNonRootCallers"])
        var entry = Entry(name: try reader.string("name") ?? "entry\(index)", match: Match(), mknod: [], mount: [],
                          setxattr: [], defaultAction: nil, logOnly: try reader.bool("logOnly"))
        entry.allowNonRootCallers = try reader.bool("allowNonRootCallers") ?? false
        if let action = try reader.string("default") { entry.defaultAction = try parseAction(action, at: reader.path("default")) }
        if let matchValue = reader.object["match"] {
            let match = try Reader(matchValue, path: reader.path("match"))
            try match.only(["metadata", "id", "annotations"])
            entry.match.metadata = try match.string("metadata")
            entry.match.id = try match.string("id")
            if let annotations = match.object["annotations"] {
                guard let map = annotations.stringMap else {
                    throw SondeError(.invalidArgument, "\(match.path("annotations")): must be an object of strings")
                }
                entry.match.annotations = map
            }
        }
        for (i, item) in try reader.array("mknod").enumerated() {
            let rule = try Reader(item, path: reader.path("mknod") + "[\(i)]")
            try rule.only(["type", "major", "minor"])
            guard let typeName = try rule.string("type") else {
                throw SondeError(.invalidArgument, "\(rule.path("type")): missing; one of \(DeviceType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let type = DeviceType(rawValue: typeName) else {
                throw SondeError(.invalidArgument, "\(rule.path("type")): unknown device type '\(typeName)'; one of \(DeviceType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let major = try rule.uint("major", max: 0xfff), minor = try rule.uint("minor", max: 0xfffff)
            if (type == .char || type == .block) && (major == nil || minor == nil) {
                throw SondeError(.invalidArgument, "\(rule.path("major")): a \(type.rawValue) device rule needs both major and minor",
                                 hint: "write the device numbers, e.g. {\"type\": \"char\", \"major\": 1, \"minor\": 3}")
            }
            entry.mknod.append(DeviceRule(type: type, major: major, minor: minor))
        }
        for (i, item) in try reader.array("mount").enumerated() {
            let rule = try Reader(item, path: reader.path("mount") + "[\(i)]")
            try rule.only(["fstype", "source", "flags", "require"])
            guard let fstype = try rule.string("fstype"), !fstype.isEmpty else {
                throw SondeError(.invalidArgument, "\(rule.path("fstype")): missing (a filesystem type such as tmpfs, or \"bind\")")
            }
            if Policy.neverMountable.contains(fstype) {
                throw SondeError(.invalidArgument, "\(rule.path("fstype")): \(fstype) is never mounted for a container: it exposes the host's kernel state")
            }
            let source = try rule.string("source")
            if fstype != "bind" && source == nil && !(Policy.sourceless.contains(fstype) || fstype.hasPrefix("fuse.")) {
                throw SondeError(.invalidArgument, "\(rule.path("source")): a \(fstype) rule needs the source it may mount",
                                 hint: "without it, any block device node in the container could be mounted; name the device, e.g. \"source\": \"/dev/vdb\"")
            }
            let allowed = try flags(rule, "flags"), required = try flags(rule, "require")
            for forbidden: MountFlags in [.remount, .move, .shared, .private, .slave, .unbindable]
                where allowed.contains(forbidden) || required.contains(forbidden) {
                throw SondeError(.invalidArgument, "\(rule.path("flags")): '\(forbidden.names[0])' cannot be allowed: the supervisor only makes new mounts")
            }
            if fstype != "bind" && (allowed.contains(.bind) || allowed.contains(.rec)) {
                throw SondeError(.invalidArgument, "\(rule.path("flags")): bind/rec belong to rules with \"fstype\": \"bind\"")
            }
            entry.mount.append(MountRule(fstype: fstype, source: source,
                                         allowedFlags: allowed.union(required), requiredFlags: required))
        }
        for (i, item) in try reader.array("setxattr").enumerated() {
            guard case .string(let name) = item, !name.isEmpty else {
                throw SondeError(.invalidArgument, "\(reader.path("setxattr"))[\(i)]: must be an attribute name such as trusted.overlay.opaque")
            }
            entry.setxattr.append(name)
        }
        entry.labels = Labels(mknod: entry.mknod.map { "\(entry.name): mknod \($0)" },
                              mount: entry.mount.map { "\(entry.name): \($0)" },
                              setxattr: entry.setxattr.map { "\(entry.name): setxattr \($0)" })
        return entry
    }

    static func flags(_ rule: Reader, _ key: String) throws(SondeError) -> MountFlags {
        var flags = MountFlags()
        for (i, item) in try rule.array(key).enumerated() {
            guard case .string(let name) = item, let flag = MountFlags.named.first(where: { $0.0 == name })?.1 else {
                throw SondeError(.invalidArgument, "\(rule.path(key))[\(i)]: unknown mount flag \(item.text); known: \(MountFlags.named.map(\.0).joined(separator: ", "))")
            }
            flags.insert(flag)
        }
        return flags
    }

    /// A JSON object with its location in the document, for error messages like `containers[0].mknod[2].major`.
    struct Reader {
        let object: [String: JSONValue]
        let location: String

        init(_ value: JSONValue, path: String) throws(SondeError) {
            guard case .object(let object) = value else {
                throw SondeError(.invalidArgument, "\(path.isEmpty ? "top level" : path): must be a JSON object")
            }
            self.object = object
            self.location = path
        }

        func path(_ key: String) -> String { location.isEmpty ? key : location + "." + key }

        func only(_ keys: Set<String>) throws(SondeError) {
            for key in object.keys.sorted() where !keys.contains(key) {
                throw SondeError(.invalidArgument, "\(path(key)): unknown key", hint: "known keys here: \(keys.sorted().joined(separator: ", "))")
            }
        }

        func string(_ key: String) throws(SondeError) -> String? {
            guard let value = object[key] else { return nil }
            guard case .string(let text) = value else { throw SondeError(.invalidArgument, "\(path(key)): must be a string") }
            return text
        }

        func bool(_ key: String) throws(SondeError) -> Bool? {
            guard let value = object[key] else { return nil }
            // Only true and false: a number is not a flag.
            guard case .bool(let flag) = value else {
                throw SondeError(.invalidArgument, "\(path(key)): must be true or false")
            }
            return flag
        }

        func uint(_ key: String, max: UInt32) throws(SondeError) -> UInt32? {
            guard let value = object[key] else { return nil }
            guard case .number(let number) = value, let exact = Int64(exactly: number), exact >= 0, exact <= Int64(max) else {
                throw SondeError(.invalidArgument, "\(path(key)): must be an integer from 0 to \(max)")
            }
            return UInt32(exact)
        }

        func array(_ key: String) throws(SondeError) -> [JSONValue] {
            guard let value = object[key] else { return [] }
            guard case .array(let list) = value else { throw SondeError(.invalidArgument, "\(path(key)): must be a list") }
            return list
        }
    }
}
