/// Fields: what a gadget's events can show and be filtered on.
///
/// Every event has the one shape `Event`: the process and container it happened to (common to all
/// gadgets) plus the gadget's own typed `fields`. A `FieldCatalog` names both kinds in one flat
/// list, each with its type, a description, and how it is shown as a column. `--fields` picks and
/// orders columns from it, `--filter` is parsed against it (see Filter.swift), and the JSON output
/// carries the same names. A gadget declares only its own fields (`FieldSpec.gadget`); the common
/// ones (`FieldCatalog.common`) come with every catalogue.
import Containers
import LinuxKit

/// The type of a field, which decides how a filter value is parsed and compared.
public enum FieldType: String, Sendable, CaseIterable {
    /// A signed integer (pid, fd): compared numerically.
    case int = "integer"
    /// An unsigned integer (uid, sizes, ids): compared numerically.
    case uint = "unsigned integer"
    /// Text (comm, path, decoded flags): compared exactly, or with a regular expression.
    case string = "text"
    /// A list of texts (argv): `=` matches when one element is equal; `~` matches the joined text.
    case strings = "list of texts"
    /// A syscall result: a non-negative value or an errno; filters take an errno name (ENOENT)
    /// or a number (-2, 3).
    case result = "syscall result"
    case bool = "boolean"
}

/// One field of a catalogue: its name, type, meaning and column.
public struct FieldSpec: Sendable {
    public let name: String
    public let type: FieldType
    public let description: String
    /// The column for `--fields`: header, width (0: as wide as needed, for a last column), alignment.
    public let header: String
    public let width: Int
    public let alignment: Column.Alignment
    /// The typed value in an event; nil when the event does not have it (a host process has no
    /// container: its container fields are nil and match no `=` filter).
    public let value: @Sendable (Event) -> FieldValue?
    /// The column text; by default the value formatted by its type.
    public let text: @Sendable (Event) -> String

    public init(_ name: String, _ type: FieldType, _ description: String, header: String? = nil, width: Int,
                alignment: Column.Alignment? = nil, value: @escaping @Sendable (Event) -> FieldValue?,
                text: (@Sendable (Event) -> String)? = nil) {
        self.name = name
        self.type = type
        self.description = description
        self.header = header ?? name.uppercased()
        self.width = width
        self.alignment = alignment ?? ([.int, .uint, .result].contains(type) ? .right : .left)
        self.value = value
        self.text = text ?? { event in value(event).map(FieldText.text) ?? "" }
    }

    /// A field of the gadget's own, read from `Event.fields` by name.
    public static func gadget(_ name: String, _ type: FieldType, _ description: String, header: String? = nil,
                              width: Int, alignment: Column.Alignment? = nil) -> FieldSpec {
        FieldSpec(name, type, description, header: header, width: width, alignment: alignment,
                  value: { $0.field(name) })
    }

    public var column: Column {
        Column(header, width: width, alignment: alignment, text: text)
    }
}

/// The fields of one gadget: the common ones, then the gadget's own.
public struct FieldCatalog: Sendable {
    public let fields: [FieldSpec]
    /// The columns shown when `--fields` is not given.
    public let defaultFields: [String]
    private let index: [String: Int]

    /// `own` must not reuse a common field's name; `defaultFields` must name fields of the catalogue.
    public init(own: [FieldSpec], defaultFields: [String]) {
        let all = Self.common + own
        var index: [String: Int] = [:]
        for (position, field) in all.enumerated() {
            precondition(index[field.name] == nil, "field \(field.name) is declared twice")
            index[field.name] = position
        }
        for name in defaultFields { precondition(index[name] != nil, "default field \(name) is not in the catalogue") }
        self.fields = all
        self.defaultFields = defaultFields
        self.index = index
    }

    public subscript(name: String) -> FieldSpec? {
        index[name].map { fields[$0] }
    }

    public var names: [String] { fields.map(\.name) }

    /// The field called `name`, or an error that lists the valid names.
    public func field(_ name: String) throws(SondeError) -> FieldSpec {
        guard let field = self[name] else {
            throw SondeError(.invalidArgument, "unknown field '\(name)'",
                             hint: "valid fields: " + names.joined(separator: ", "))
        }
        return field
    }

    /// Columns for a `--fields a,b,c` list (nil or empty: the defaults), in the order given.
    public func columns(_ list: [String]?) throws(SondeError) -> [Column] {
        let chosen = (list?.isEmpty ?? true) ? defaultFields : list!
        var columns: [Column] = []
        var seen = Set<String>()
        for name in chosen {
            guard seen.insert(name).inserted else {
                throw SondeError(.invalidArgument, "field '\(name)' is listed twice in --fields")
            }
            columns.append(try field(name).column)
        }
        return columns
    }

    /// One line per field, for help texts: "  path (text): the path as passed".
    public var help: String {
        fields.map { "  \($0.name) (\($0.type.rawValue)): \($0.description)" }.joined(separator: "\n")
    }

    /// Fields every event has: when, which process, which container.
    public static let common: [FieldSpec] = [
        FieldSpec("time", .int, "when it happened (nanoseconds since the Unix epoch; shown as local time)",
                  width: 12, alignment: .left, value: { .int($0.timestamp) }, text: { TimeText.clock($0.timestamp) }),
        FieldSpec("container", .string, "container name", width: 16, value: { $0.container.map { .string($0.name) } }),
        FieldSpec("container_id", .string, "container id", header: "CONTAINER ID", width: 16,
                  value: { $0.container.map { .string($0.id) } }),
        FieldSpec("runtime", .string, "container runtime (runc, podman, containerd, cgroup)", width: 10,
                  value: { $0.container.map { .string($0.runtime.rawValue) } }),
        FieldSpec("pod", .string, "Kubernetes pod name", width: 16, value: { $0.container?.pod.map { .string($0.name) } }),
        FieldSpec("namespace", .string, "Kubernetes namespace of the pod", width: 12,
                  value: { $0.container?.pod.map { .string($0.namespace) } }),
        FieldSpec("pid", .int, "process id (thread group id, as seen from the host)", width: 7,
                  value: { .int(Int64($0.process.pid)) }),
        FieldSpec("tid", .int, "thread id (host)", width: 7, value: { .int(Int64($0.process.tid)) }),
        FieldSpec("ppid", .int, "parent process id (host)", width: 7, value: { .int(Int64($0.process.ppid)) }),
        FieldSpec("uid", .uint, "user id (as the host sees it)", width: 6, value: { .uint(UInt64($0.process.uid)) }),
        FieldSpec("gid", .uint, "group id (as the host sees it)", width: 6, value: { .uint(UInt64($0.process.gid)) }),
        FieldSpec("comm", .string, "command name of the thread (16 bytes at most)", width: 16,
                  value: { .string($0.process.comm) }),
        FieldSpec("cgroup_id", .uint, "cgroup v2 id of the process", header: "CGROUP", width: 8,
                  value: { .uint($0.cgroupID) }),
        FieldSpec("mntns_id", .uint, "mount namespace id of the process", header: "MNTNS", width: 10,
                  value: { .uint($0.mountNamespaceID) }),
    ]
}
