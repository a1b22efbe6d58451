import Glibc

/// strace's `-c` summary: calls, errors and time per syscall, rendered as strace 6.1 prints its
/// table with the default columns (`% time`, `seconds`, `usecs/call`, `calls`, `errors`, `syscall`),
/// widths and number formats, sorted by time unless told otherwise (`-S`).
///
/// Times are totals in nanoseconds (strace counts system CPU time, or wall-clock time with `-w`;
/// the caller decides which it has). Calls whose time is unknown are still counted, with no time.
public struct StraceSummary: Sendable {
    /// One syscall's totals.
    public struct Row: Sendable, Hashable {
        /// strace's name of the syscall.
        public var name: String
        public var calls: UInt64
        /// Calls that returned an error.
        public var errors: UInt64
        /// Total time in the syscall.
        public var nanoseconds: UInt64

        public init(name: String, calls: UInt64, errors: UInt64 = 0, nanoseconds: UInt64 = 0) {
            self.name = name
            self.calls = calls
            self.errors = errors
            self.nanoseconds = nanoseconds
        }

        /// Time in seconds, rounded to the nanosecond (negative or not-a-number: none).
        public init(name: String, calls: UInt64, errors: UInt64 = 0, seconds: Double) {
            let nanoseconds = seconds * 1e9
            self.init(name: name, calls: calls, errors: errors,
                      nanoseconds: nanoseconds >= 0 && nanoseconds < 1.8e19 ? UInt64(nanoseconds.rounded()) : 0)
        }
    }

    /// The row order, as strace's `-S` (`--summary-sort-by`) names it. Ties (and `.nothing`) go by
    /// syscall number, as strace's table is laid out.
    public enum SortKey: String, Sendable, Hashable, CaseIterable {
        /// Total time, longest first (strace's default).
        case time
        /// Calls, most first.
        case calls
        /// Errors, most first.
        case errors
        /// Name, in byte order.
        case name
        /// No sorting: by syscall number.
        case nothing
    }

    /// The rows, one per syscall name, in the order they were first added.
    public private(set) var rows: [Row] = []
    private var rowIndex: [String: Int] = [:]
    private let table: SyscallTable

    public init(table: SyscallTable = .x86_64) {
        self.table = table
    }

    /// Rows with the same name are added together.
    public init(rows: [Row], table: SyscallTable = .x86_64) {
        self.table = table
        for row in rows { add(row) }
    }

    /// Adds a syscall's totals (to its row when it has one).
    public mutating func add(_ row: Row) {
        if let i = rowIndex[row.name] {
            rows[i].calls &+= row.calls
            rows[i].errors &+= row.errors
            rows[i].nanoseconds &+= row.nanoseconds
        } else {
            rowIndex[row.name] = rows.count
            rows.append(row)
        }
    }

    /// Counts one call of the syscall called `name`; `nanoseconds` nil when its time is unknown.
    public mutating func record(name: String, failed: Bool, nanoseconds: UInt64?) {
        add(Row(name: name, calls: 1, errors: failed ? 1 : 0, nanoseconds: nanoseconds ?? 0))
    }

    /// Counts one call by number; a number the table does not have is named as strace prints it
    /// (`syscall_0x1a4`).
    public mutating func record(_ number: Int, failed: Bool, nanoseconds: UInt64?) {
        let name = table[number]?.name ?? "syscall_0x" + String(UInt(bitPattern: number), radix: 16)
        record(name: name, failed: failed, nanoseconds: nanoseconds)
    }

    /// strace's table, every line ending in a newline; empty when no call was counted (strace then
    /// prints nothing).
    public func render(sortedBy key: SortKey = .time) -> String {
        let shown = sorted(rows.filter { $0.calls > 0 }, by: key)
        guard !shown.isEmpty else { return "" }

        var totalTime = Time.zero
        var totalCalls: UInt64 = 0
        var totalErrors: UInt64 = 0
        var longestAverage = Time.zero
        var longestName = 0
        var averages: [Time] = []
        for row in shown {
            let time = Time(row.nanoseconds)
            totalTime = totalTime + time
            totalCalls &+= row.calls
            totalErrors &+= row.errors
            let average = time.divided(by: row.calls)
            averages.append(average)
            if average > longestAverage { longestAverage = average }
            longestName = max(longestName, row.name.utf8.count)
        }
        let totalSeconds = totalTime.seconds

        // Column widths: strace's historical minimums, wider when a value needs it.
        let percentWidth = 6
        let secondsWidth = max(11, Self.format("%.6f", totalSeconds).utf8.count)
        let averageWidth = max(11, String(Self.microseconds(longestAverage.seconds)).utf8.count)
        let callsWidth = max(9, String(totalCalls).utf8.count)
        let errorsWidth = max(9, String(totalErrors).utf8.count)
        let nameWidth = max(16, longestName + 1)

        var text = ""
        func line(_ percent: String, _ seconds: String, _ average: String, _ calls: String, _ errors: String, _ name: String) {
            text += Self.right(percent, percentWidth) + " " + Self.right(seconds, secondsWidth) + " "
                + Self.right(average, averageWidth) + " " + Self.right(calls, callsWidth) + " "
                + Self.right(errors, errorsWidth) + " " + name + "\n"
        }
        func divider() {
            text += [percentWidth, secondsWidth, averageWidth, callsWidth, errorsWidth, nameWidth]
                .map { String(repeating: "-", count: $0) }.joined(separator: " ") + "\n"
        }

        line("% time", "seconds", "usecs/call", "calls", "errors", "syscall")
        divider()
        for (row, average) in zip(shown, averages) {
            let seconds = Time(row.nanoseconds).seconds
            var percent = 100.0 * seconds
            if percent != 0 { percent /= totalSeconds }
            // errors: strace prints them with precision 0, so none prints as blanks.
            line(Self.format("%.2f", percent), Self.format("%.6f", seconds),
                 String(Self.microseconds(average.seconds)), String(row.calls),
                 row.errors == 0 ? "" : String(row.errors), row.name)
        }
        divider()
        line("100.00", Self.format("%.6f", totalSeconds),
             String(Self.microseconds(totalSeconds / Double(totalCalls))), String(totalCalls),
             totalErrors == 0 ? "" : String(totalErrors), "total")
        return text
    }

    /// The rows in strace's order for `key`.
    private func sorted(_ rows: [Row], by key: SortKey) -> [Row] {
        // strace sorts its table (by number) with glibc's qsort, a stable merge sort: ties keep
        // number order. Names the table does not have go after, in the order they came.
        let keyed = rows.enumerated().map { (offset, row) in
            (row: row, number: table.number(of: row.name) ?? Int.max, offset: offset)
        }
        return keyed.sorted { a, b in
            switch key {
            case .time where a.row.nanoseconds != b.row.nanoseconds:
                return a.row.nanoseconds > b.row.nanoseconds
            // strace compares calls and errors as C unsigned ints.
            case .calls where UInt32(truncatingIfNeeded: a.row.calls) != UInt32(truncatingIfNeeded: b.row.calls):
                return UInt32(truncatingIfNeeded: a.row.calls) > UInt32(truncatingIfNeeded: b.row.calls)
            case .errors where UInt32(truncatingIfNeeded: a.row.errors) != UInt32(truncatingIfNeeded: b.row.errors):
                return UInt32(truncatingIfNeeded: a.row.errors) > UInt32(truncatingIfNeeded: b.row.errors)
            case .name where a.row.name != b.row.name:
                return a.row.name.utf8.lexicographicallyPrecedes(b.row.name.utf8)
            default:
                return (a.number, a.offset) < (b.number, b.offset)
            }
        }.map(\.row)
    }

    /// A duration as strace keeps it (a timespec), so that averages round as strace's do.
    private struct Time: Comparable {
        var seconds64: UInt64
        var nanoseconds: UInt64

        static let zero = Time(seconds64: 0, nanoseconds: 0)

        init(seconds64: UInt64, nanoseconds: UInt64) {
            self.seconds64 = seconds64
            self.nanoseconds = nanoseconds
        }

        init(_ total: UInt64) {
            self.init(seconds64: total / 1_000_000_000, nanoseconds: total % 1_000_000_000)
        }

        /// strace's ts_float.
        var seconds: Double { Double(seconds64) + Double(nanoseconds) / 1_000_000_000.0 }

        static func + (a: Time, b: Time) -> Time {
            var sum = Time(seconds64: a.seconds64 &+ b.seconds64, nanoseconds: a.nanoseconds + b.nanoseconds)
            if sum.nanoseconds >= 1_000_000_000 {
                sum.seconds64 &+= 1
                sum.nanoseconds -= 1_000_000_000
            }
            return sum
        }

        /// strace's ts_div: rounded to the nearest nanosecond.
        func divided(by n: UInt64) -> Time {
            let nanoseconds = (seconds64 % n &* 1_000_000_000 &+ self.nanoseconds &+ n / 2) / n
            return Time(seconds64: seconds64 / n &+ nanoseconds / 1_000_000_000,
                        nanoseconds: nanoseconds % 1_000_000_000)
        }

        static func < (a: Time, b: Time) -> Bool {
            (a.seconds64, a.nanoseconds) < (b.seconds64, b.nanoseconds)
        }
    }

    /// Seconds as whole microseconds, truncated as strace's cast to uint64_t does.
    private static func microseconds(_ seconds: Double) -> UInt64 {
        let value = seconds * 1e6
        guard value.isFinite, value >= 0 else { return 0 }
        return value < 1.8e19 ? UInt64(value) : UInt64.max
    }

    private static func right(_ s: String, _ width: Int) -> String {
        let count = s.utf8.count
        return count >= width ? s : String(repeating: " ", count: width - count) + s
    }

    /// One double through C's printf, for its exact rounding.
    private static func format(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        if count >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(count) + 1)
            _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
