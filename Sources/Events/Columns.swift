#if canImport(Glibc)
import Glibc
#endif
import LinuxKit

/// A column of the table output: a header, a width, and how to get its text from an event.
public struct Column: Sendable {
    public enum Alignment: Sendable { case left, right }
    public let header: String
    public let width: Int
    public let alignment: Alignment
    /// The last column takes the rest of the line and is never cut or padded.
    public let text: @Sendable (Event) -> String

    public init(_ header: String, width: Int, alignment: Alignment = .left, text: @escaping @Sendable (Event) -> String) {
        self.header = header
        self.width = width
        self.alignment = alignment
        self.text = text
    }

    /// A gadget field rendered by its type.
    public static func field(_ header: String, _ name: String, width: Int, alignment: Alignment = .left) -> Column {
        Column(header, width: width, alignment: alignment) { event in
            event.field(name).map(FieldText.text) ?? ""
        }
    }

    // Columns every gadget shares.
    public static let time = Column("TIME", width: 12) { TimeText.clock($0.timestamp) }
    public static let container = Column("CONTAINER", width: 16) { $0.container?.name ?? "" }
    public static let runtime = Column("RUNTIME", width: 10) { $0.container?.runtime.rawValue ?? "" }
    public static let pod = Column("POD", width: 16) { $0.container?.pod?.name ?? "" }
    public static let namespace = Column("NAMESPACE", width: 12) { $0.container?.pod?.namespace ?? "" }
    public static let pid = Column("PID", width: 7, alignment: .right) { String($0.process.pid) }
    public static let tid = Column("TID", width: 7, alignment: .right) { String($0.process.tid) }
    public static let ppid = Column("PPID", width: 7, alignment: .right) { String($0.process.ppid) }
    public static let uid = Column("UID", width: 6, alignment: .right) { String($0.process.uid) }
    public static let comm = Column("COMM", width: 16) { $0.process.comm }
}

/// Text of typed values, shared by the table renderer and filters.
public enum FieldText {
    public static func text(_ value: FieldValue) -> String {
        switch value {
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .string(let s): return printable(s)
        case .strings(let list, let truncated):
            let joined = list.map(printable).joined(separator: " ")
            return truncated ? joined + " ..." : joined
        case .result(let r): return r >= 0 ? String(r) : Errno(negativeResult: r).name
        case .bool(let b): return b ? "true" : "false"
        }
    }

    /// Strings from a container are hostile: control characters would move the terminal's cursor.
    public static func printable(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7f: out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2, with: "0")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    public func leftPadded(to width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
    public func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// Times as people read them.
public enum TimeText {
    /// Local wall-clock time of day with milliseconds, "14:03:07.123".
    public static func clock(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let millis = Int(nanoseconds % 1_000_000_000) / 1_000_000
        return two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + "."
            + String(millis).leftPadded(to: 3, with: "0")
    }

    /// RFC 3339 in UTC with nanoseconds, "2026-11-22T14:03:07.123456789Z".
    public static func rfc3339(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let nanos = String(nanoseconds % 1_000_000_000).leftPadded(to: 9, with: "0")
        return String(parts.tm_year + 1900) + "-" + two(parts.tm_mon + 1) + "-" + two(parts.tm_mday) + "T"
            + two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + "." + nanos + "Z"
    }

    /// "20261122T041530.123Z": UTC, sorts by time, safe in a file name.
    public static func fileStamp(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = String(nanoseconds % 1_000_000_000 / 1_000_000).leftPadded(to: 3, with: "0")
        return String(parts.tm_year + 1900) + two(parts.tm_mon + 1) + two(parts.tm_mday) + "T" + two(parts.tm_hour)
            + two(parts.tm_min) + two(parts.tm_sec) + "." + millis + "Z"
    }

    private static func two(_ v: Int32) -> String { v < 10 ? "0" + String(v) : String(v) }
}

/// Renders events as aligned columns under a header line.
public struct TableRenderer: Sendable {
    public let columns: [Column]

    public init(columns: [Column]) { self.columns = columns }

    public func header() -> String {
        line(columns.map(\.header))
    }

    public func render(_ event: Event) -> String {
        line(columns.map { $0.text(event) })
    }

    private func line(_ cells: [String]) -> String {
        var out = ""
        // Every cell may hold text from a container (comm, names): escape control characters.
        for (index, (column, cell)) in zip(columns, cells.map(FieldText.printable)).enumerated() {
            if index == columns.count - 1 {
                out += cell
            } else {
                var text = cell
                if text.count > column.width { text = String(text.prefix(column.width)) }
                out += column.alignment == .left ? text.rightPadded(to: column.width) : text.leftPadded(to: column.width)
                out += " "
            }
        }
        return out
    }
}

/// Aligns rows of cells into columns as wide as their widest cell (for listings, not streams).
public enum TextTable {
    public static func align(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? FieldText.printable(cell) : FieldText.printable(cell).rightPadded(to: widths[index])
            }.joined(separator: "  ")
        }
    }
}
