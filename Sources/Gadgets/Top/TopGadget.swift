import BPFKit
import Events
import LinuxKit

/// A gadget whose kernel side aggregates into a map instead of streaming records: every interval,
/// `collect` drains the map into rows, one `Event` per row with the gadget's fields, so columns,
/// filters and JSON work as for the trace gadgets. The session still runs it (container selection
/// in the kernel, new containers followed); the rows carry cgroup ids and get their container from
/// the runner.
public protocol TopGadget: Gadget {
    /// The sort used when `--sort` is not given, e.g. ["-rbytes", "-wbytes"].
    var defaultSort: [String] { get }
    /// What was aggregated since the last call; the kernel's table is emptied.
    /// Calls the kernel could not count (its table full) go to `sonde_lost` and are reported by
    /// the session like any loss.
    func collect(now: Int64) throws(SondeError) -> [Event]
}

extension TopGadget {
    /// Top gadgets send no records of their own (only the session's cgroup records).
    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? { nil }
}

/// `--sort -wbytes,comm`: fields of the catalogue, each ascending or, with "-", descending.
public struct RowOrder: Sendable {
    public let keys: [(field: FieldSpec, descending: Bool)]

    public init(parsing list: [String], catalog: FieldCatalog) throws(SondeError) {
        var keys: [(field: FieldSpec, descending: Bool)] = []
        for item in list where !item.isEmpty {
            let descending = item.hasPrefix("-")
            let name = descending || item.hasPrefix("+") ? String(item.dropFirst()) : item
            keys.append((try catalog.field(name), descending))
        }
        self.keys = keys
    }

    public func sorted(_ rows: [Event]) -> [Event] {
        rows.sorted { a, b in
            for (field, descending) in keys {
                let order = Self.compare(field.value(a), field.value(b))
                if order != 0 { return descending ? order > 0 : order < 0 }
            }
            return false
        }
    }

    /// -1, 0, 1; a missing value sorts before any value.
    static func compare(_ a: FieldValue?, _ b: FieldValue?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (.int(x)?, .int(y)?), let (.result(x)?, .result(y)?): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.uint(x)?, .uint(y)?): return x < y ? -1 : (x > y ? 1 : 0)
        case let (.bool(x)?, .bool(y)?): return x == y ? 0 : (x ? 1 : -1)
        default:
            let x = a.map(FieldText.text) ?? "", y = b.map(FieldText.text) ?? ""
            return x < y ? -1 : (x > y ? 1 : 0)
        }
    }
}
