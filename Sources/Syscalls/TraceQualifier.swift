import Glibc

/// strace's syscall classes, the `%name` sets of `-e trace=` (strace 6.1). A syscall can be in
/// several; `TraceClass.of(_:)` gives a syscall's, from strace's own table (TraceClasses.swift).
public struct TraceClass: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `%file` (TF): takes a file name.
    public static let file = TraceClass(rawValue: 1 << 0)
    /// `%process` (TP): process lifecycle.
    public static let process = TraceClass(rawValue: 1 << 1)
    /// `%network`, `%net` (TN).
    public static let network = TraceClass(rawValue: 1 << 2)
    /// `%signal` (TS).
    public static let signal = TraceClass(rawValue: 1 << 3)
    /// `%ipc` (TI): System V IPC.
    public static let ipc = TraceClass(rawValue: 1 << 4)
    /// `%desc` (TD): takes or returns a file descriptor.
    public static let desc = TraceClass(rawValue: 1 << 5)
    /// `%memory` (TM): memory mapping.
    public static let memory = TraceClass(rawValue: 1 << 6)
    /// `%creds` (TC): user and group ids, capabilities.
    public static let creds = TraceClass(rawValue: 1 << 7)
    /// `%stat` (TST): stat variants taking a path.
    public static let stat = TraceClass(rawValue: 1 << 8)
    /// `%lstat` (TLST).
    public static let lstat = TraceClass(rawValue: 1 << 9)
    /// `%fstat` (TFST): stat variants taking a descriptor.
    public static let fstat = TraceClass(rawValue: 1 << 10)
    /// `%%stat` (TSTA): every stat variant.
    public static let statLike = TraceClass(rawValue: 1 << 11)
    /// `%statfs` (TSF).
    public static let statfs = TraceClass(rawValue: 1 << 12)
    /// `%fstatfs` (TFSF).
    public static let fstatfs = TraceClass(rawValue: 1 << 13)
    /// `%%statfs` (TSFA): statfs, fstatfs and ustat variants.
    public static let statfsLike = TraceClass(rawValue: 1 << 14)
    /// `%pure` (PU): no arguments, never fail, only return a value of the process.
    public static let pure = TraceClass(rawValue: 1 << 15)
    /// `%clock` (TCL): read or set system clocks.
    public static let clock = TraceClass(rawValue: 1 << 16)

    /// The class names `-e trace=` accepts (case-sensitive, as strace 6.1 compares them), with the
    /// legacy names without `%` that strace still takes. `all` is the empty class: every syscall
    /// has it.
    public static let qualifierNames: [(name: String, classes: TraceClass)] = [
        ("%desc", .desc), ("%file", .file), ("%memory", .memory), ("%process", .process),
        ("%creds", .creds), ("%signal", .signal), ("%ipc", .ipc), ("%net", .network),
        ("%network", .network), ("%stat", .stat), ("%lstat", .lstat), ("%fstat", .fstat),
        ("%%stat", .statLike), ("%statfs", .statfs), ("%fstatfs", .fstatfs),
        ("%%statfs", .statfsLike), ("%pure", .pure), ("%clock", .clock),
        ("all", []), ("desc", .desc), ("file", .file), ("memory", .memory), ("process", .process),
        ("signal", .signal), ("ipc", .ipc), ("network", .network),
    ]

    /// The class called `name` in `-e trace=` (`%file`, `file`, `%%stat`...); nil if there is none.
    public init?(qualifierName name: String) {
        guard let found = Self.qualifierNames.first(where: { $0.name == name }) else { return nil }
        self = found.classes
    }

    /// strace's classes of the x86_64 syscall called `name` (strace's name, as in
    /// `SyscallTable.x86_64`); empty for a syscall in no class, nil for a name strace's 64-bit
    /// table does not have.
    public static func of(_ name: String) -> TraceClass? { x86_64ByName[name] }

    static let x86_64ByName: [String: TraceClass] = {
        var byName: [String: TraceClass] = [:]
        for entry in x86_64Entries { byName[entry.name] = entry.classes }
        return byName
    }()
}

/// A row of the generated class table.
struct TraceClassEntry: Sendable {
    let number: Int
    let name: String
    let classes: TraceClass

    init(_ number: Int, _ name: String, _ classes: TraceClass) {
        self.number = number
        self.name = name
        self.classes = classes
    }
}

/// Why an strace filter expression was refused; `description` is strace's message (without its
/// `strace: ` prefix).
public enum TraceFilterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A name, number, class or regex that selects no syscall of any personality (strace:
    /// `invalid system call 'foo'`), or an expression with no token at all.
    case invalidSyscall(String)
    /// A `NAME@X` whose X is not a personality of x86_64 (`64`, `32`, `x32`).
    case invalidPersonality(designator: String, qualification: String)
    /// A `/regex` that does not compile (`function` is `regcomp`), or that sonde refuses to compile.
    case invalidRegex(function: String, pattern: String, message: String)
    /// A `-e status=` token that is not a status.
    case invalidStatus(String)

    public var description: String {
        switch self {
        case .invalidSyscall(let token): return "invalid system call '\(token)'"
        case .invalidPersonality(let designator, let qualification):
            return "incorrect personality designator '\(designator)' in qualification '\(qualification)'"
        case .invalidRegex(let function, let pattern, let message): return "\(function): \(pattern): \(message)"
        case .invalidStatus(let token): return "invalid status '\(token)'"
        }
    }
}

/// strace's `-e trace=EXPR` (`--trace=EXPR`): which syscalls of a recording to show.
///
/// The expression is strace 6.1's: comma-separated tokens, each a syscall name, a number, a class
/// (`%file`, `%%stat`, or a legacy `file`), or `/regex` (POSIX extended, searched in names); a
/// token may start with `?` (no error when it selects nothing) and end with `@64`, `@32` or `@x32`
/// (a personality). Leading `!`s negate the whole set; `all` and `none` stand alone. As in strace,
/// a name known only in the i386 or x32 personality (`socketcall`, `ioctl#64`) is accepted and
/// selects nothing here: a recording holds x86_64 (64-bit) syscalls only.
///
/// `/regex` goes to glibc's regcomp, as in strace (and, as there, cannot hold a comma: commas split
/// tokens first), with limits against hostile patterns: at most 1024 bytes, no back-references
/// (`\1`...), and bounded repetitions (`{n}`) whose expansion stays small. Patterns past these
/// limits are refused with a `regcomp:` error.
public struct TraceQualifier: Sendable {
    /// The expression as given.
    public let expression: String
    /// Selected numbers (before `inverted` applies), indexed by syscall number.
    private let selected: [Bool]
    /// An odd number of leading `!`s (and `all`, which is `!none`).
    private let inverted: Bool

    public init(_ expression: String, table: SyscallTable = .x86_64) throws {
        var parser = TraceExpressionParser(table: table)
        let inverted = try parser.parse(expression)
        self.expression = expression
        self.selected = parser.selected
        self.inverted = inverted
    }

    /// Every syscall (strace's default).
    public static let all = try! TraceQualifier("all")

    /// Whether a syscall of this number is traced. Numbers the table does not have (holes, numbers
    /// past its end) are in no set: traced only by a negated expression or `all`, as in strace.
    public func matches(_ number: Int) -> Bool {
        let inSet = number >= 0 && number < selected.count && selected[number]
        return inSet != inverted
    }

    /// The table's syscalls this expression traces, by number.
    public func numbers(in table: SyscallTable = .x86_64) -> [Int] {
        table.syscalls.map(\.number).filter(matches)
    }
}

/// strace's three x86_64 personalities, by `@` designator.
private enum StracePersonality: CaseIterable {
    case x86_64, i386, x32

    init?(designator: Substring) {
        switch designator {
        case "64": self = .x86_64
        case "32": self = .i386
        case "x32": self = .x32
        default: return nil
        }
    }
}

/// The `-e trace=` parse, following strace 6.1's qualify_syscall_tokens.
private struct TraceExpressionParser {
    let table: SyscallTable
    var selected: [Bool]

    init(table: SyscallTable) {
        self.table = table
        self.selected = Array(repeating: false, count: table.maxNumber + 1)
    }

    static let i386Names = Set(TraceClass.i386Names)
    static let x32Names = Set(TraceClass.x32Names)
    static let x86_64Numbers = Set(TraceClass.x86_64Entries.map(\.number))
    static let x32SyscallBit = 0x4000_0000

    /// Returns whether the set is inverted.
    mutating func parse(_ expression: String) throws -> Bool {
        var rest = Substring(expression)
        var inverted = false
        while rest.first == "!" {
            inverted.toggle()
            rest = rest.dropFirst()
        }
        if rest == "none" { return inverted }
        if rest == "all" { return !inverted }
        // Arguments come from argv: no NUL. Refuse one rather than cut the expression at it.
        if expression.utf8.contains(0) { throw TraceFilterError.invalidSyscall(expression) }

        let tokens = rest.split(separator: ",", omittingEmptySubsequences: true)
        if tokens.isEmpty { throw TraceFilterError.invalidSyscall(expression) }
        for token in tokens {
            if try !qualify(token) { throw TraceFilterError.invalidSyscall(String(token)) }
        }
        return inverted
    }

    /// One token; false when it selects nothing in any personality and has no `?`.
    private mutating func qualify(_ token: Substring) throws -> Bool {
        var body = token
        var optional = false
        while body.first == "?" {
            optional = true
            body = body.dropFirst()
        }
        if let at = body.lastIndex(of: "@") {
            let designator = body[body.index(after: at)...]
            guard let personality = StracePersonality(designator: designator) else {
                throw TraceFilterError.invalidPersonality(designator: String(designator), qualification: String(body))
            }
            return try qualify(body[..<at], in: [personality]) || optional
        }
        return try qualify(body, in: StracePersonality.allCases) || optional
    }

    private mutating func qualify(_ body: Substring, in personalities: [StracePersonality]) throws -> Bool {
        if let first = body.utf8.first, first >= 0x30 && first <= 0x39 {
            var found = false
            for personality in personalities where number(body, in: personality) { found = true }
            return found
        }
        if body.first == "/" { return try regex(body.dropFirst(), in: personalities) }
        if let classes = TraceClass(qualifierName: String(body)) {
            if personalities.contains(.x86_64) {
                for syscall in table.syscalls where (TraceClass.of(syscall.name) ?? []).isSuperset(of: classes) {
                    selected[syscall.number] = true
                }
            }
            return true  // a class is valid even where it is empty
        }
        var found = false
        for personality in personalities where name(body, in: personality) { found = true }
        return found
    }

    /// A decimal number (strace: digits only, at most INT_MAX).
    private mutating func number(_ text: Substring, in personality: StracePersonality) -> Bool {
        var value = 0
        for c in text.utf8 {
            guard c >= 0x30 && c <= 0x39 else { return false }
            value = value * 10 + Int(c - 0x30)
            if value > Int(Int32.max) { return false }
        }
        switch personality {
        case .x86_64:
            guard table[value] != nil || Self.x86_64Numbers.contains(value) else { return false }
            if value < selected.count && table[value] != nil { selected[value] = true }
            return true
        case .i386:
            return TraceClass.i386Numbers.contains { $0.contains(value) }
        case .x32:
            // strace tries the number with the x32 bit flipped, then as given.
            return [value ^ Self.x32SyscallBit, value].contains { n in TraceClass.x32Numbers.contains { $0.contains(n) } }
        }
    }

    private mutating func name(_ text: Substring, in personality: StracePersonality) -> Bool {
        let name = String(text)
        switch personality {
        case .x86_64:
            if let number = table.number(of: name) {
                selected[number] = true
                return true
            }
            return TraceClass.of(name) != nil
        case .i386: return Self.i386Names.contains(name)
        case .x32: return Self.x32Names.contains(name)
        }
    }

    private mutating func regex(_ pattern: Substring, in personalities: [StracePersonality]) throws -> Bool {
        let regex = try PosixRegex(String(pattern))
        var found = false
        for personality in personalities {
            switch personality {
            case .x86_64:
                for syscall in table.syscalls {
                    if try regex.matches(syscall.name) {
                        selected[syscall.number] = true
                        found = true
                    }
                }
            case .i386:
                if try TraceClass.i386Names.contains(where: regex.matches) { found = true }
            case .x32:
                if try TraceClass.x32Names.contains(where: regex.matches) { found = true }
            }
        }
        return found
    }
}

/// A POSIX extended regex (glibc's regcomp, as strace uses), searched in short names. Only used
/// while parsing: compiled, run over a few hundred names, freed.
private final class PosixRegex {
    private var compiled = regex_t()
    private let pattern: String

    static let maximumLength = 1024
    /// Upper bound of the pattern's size once its bounded repetitions are expanded.
    static let maximumExpansion = 4096

    init(_ pattern: String) throws {
        self.pattern = pattern
        if let problem = PosixRegex.refusal(pattern) {
            throw TraceFilterError.invalidRegex(function: "regcomp", pattern: pattern, message: problem)
        }
        let rc = regcomp(&compiled, pattern, REG_EXTENDED | REG_NOSUB)
        if rc != 0 {
            let message = PosixRegex.message(rc, &compiled)
            regfree(&compiled)
            throw TraceFilterError.invalidRegex(function: "regcomp", pattern: pattern, message: message)
        }
    }

    deinit { regfree(&compiled) }

    func matches(_ name: String) throws -> Bool {
        let rc = regexec(&compiled, name, 0, nil, 0)
        if rc == 0 { return true }
        if rc == Int32(_REG_NOMATCH.rawValue) { return false }
        throw TraceFilterError.invalidRegex(function: "regexec", pattern: pattern,
                                            message: PosixRegex.message(rc, &compiled))
    }

    private static func message(_ code: Int32, _ regex: UnsafePointer<regex_t>) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        _ = regerror(code, regex, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Why sonde will not hand this pattern to regcomp, if it will not: too long, back-references
    /// (glibc matches those by backtracking, and some patterns crash it), or bounded repetitions
    /// that multiply into a huge automaton (`((a{1000}){1000}){1000}`). Names are at most a few
    /// dozen characters: nothing useful is lost.
    static func refusal(_ pattern: String) -> String? {
        let bytes = Array(pattern.utf8)
        if bytes.count > maximumLength { return "Regular expression too big" }
        // Sizes of the open groups (innermost last) and of the last atom of each.
        var groups: [(size: Int, lastAtom: Int)] = [(0, 0)]
        var i = 0

        func add(_ atom: Int) {
            groups[groups.count - 1].size += atom
            groups[groups.count - 1].lastAtom = atom
        }

        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\\"):
                if i + 1 < bytes.count, bytes[i + 1] >= 0x31 && bytes[i + 1] <= 0x39 {
                    return "back-references are not supported"
                }
                i += 2
                add(1)
            case UInt8(ascii: "["):
                i = endOfBracket(bytes, from: i)
                add(1)
            case UInt8(ascii: "("):
                groups.append((0, 0))
                i += 1
            case UInt8(ascii: ")"):
                i += 1
                if groups.count > 1 {
                    let group = groups.removeLast()
                    add(group.size + 1)
                } else {
                    add(1)
                }
            case UInt8(ascii: "{"):
                guard let (count, next) = repetition(bytes, from: i) else {
                    i += 1
                    add(1)
                    break
                }
                i = next
                let last = groups[groups.count - 1].lastAtom
                let (grown, overflow) = last.multipliedReportingOverflow(by: max(count, 1))
                if overflow || grown > maximumExpansion { return "Regular expression too big" }
                groups[groups.count - 1].size += grown - last
                groups[groups.count - 1].lastAtom = grown
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                // Applies to the last atom, which a following bound then repeats whole.
                i += 1
                groups[groups.count - 1].size += 1
            default:
                i += 1
                add(1)
            }
            if groups.contains(where: { $0.size > maximumExpansion }) { return "Regular expression too big" }
        }
        return groups.reduce(0) { $0 + $1.size } > maximumExpansion ? "Regular expression too big" : nil
    }

    /// The index past a bracket expression starting at `start` (`[`); the end when unterminated.
    private static func endOfBracket(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start + 1
        if i < bytes.count, bytes[i] == UInt8(ascii: "^") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1 }  // a leading ] is literal
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "["), i + 1 < bytes.count,
               [UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "=")].contains(bytes[i + 1]) {
                // [:class:], [.coll.], [=equiv=]: up to the matching close.
                let close = bytes[i + 1]
                var j = i + 2
                while j + 1 < bytes.count, !(bytes[j] == close && bytes[j + 1] == UInt8(ascii: "]")) { j += 1 }
                i = j + 2
                continue
            }
            if bytes[i] == UInt8(ascii: "]") { return i + 1 }
            i += 1
        }
        return bytes.count
    }

    /// `{m}`, `{m,}` or `{m,n}` at `start`: the largest count it stands for (m + 1 for `{m,}`)
    /// and the index past it; nil when it is not a well-formed bound (regcomp judges it then).
    private static func repetition(_ bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var i = start + 1
        func digits() -> Int? {
            var value: Int?
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                value = min((value ?? 0) * 10 + Int(bytes[i] - 0x30), 1 << 20)
                i += 1
            }
            return value
        }
        let low = digits()
        var high = low
        if i < bytes.count, bytes[i] == UInt8(ascii: ",") {
            i += 1
            high = digits() ?? ((low ?? 0) + 1)
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "}"), low != nil || high != nil else { return nil }
        return (max(low ?? 0, high ?? 0), i + 1)
    }
}

/// How a syscall ended, as `-e status=` sorts them (strace 6.1).
public enum SyscallStatus: String, Sendable, Hashable, CaseIterable {
    /// Returned without an error code.
    case successful
    /// Returned an error code.
    case failed
    /// Did not return: the process exited or was killed in it (`<unfinished ...>` never resumed).
    case unfinished
    /// Returned, but its return value could not be had.
    case unavailable
    /// The tracer detached in it.
    case detached
}

/// strace's `-e status=SET` (`--status=SET`): which syscalls to print by how they ended. `-Z` is
/// `failedOnly`, `-z` is `successfulOnly`.
public struct StatusQualifier: Sendable, Hashable {
    private let selected: Set<SyscallStatus>
    private let inverted: Bool

    /// Parses the set: comma-separated status names (case-insensitive), or `all` / `none` alone;
    /// leading `!`s negate it.
    public init(_ expression: String) throws {
        var rest = Substring(expression)
        var inverted = false
        while rest.first == "!" {
            inverted.toggle()
            rest = rest.dropFirst()
        }
        if rest == "none" || rest == "all" {
            self.selected = []
            self.inverted = rest == "all" ? !inverted : inverted
            return
        }
        let tokens = rest.split(separator: ",", omittingEmptySubsequences: true)
        if tokens.isEmpty { throw TraceFilterError.invalidStatus(expression) }
        var selected: Set<SyscallStatus> = []
        for token in tokens {
            guard let status = SyscallStatus.allCases.first(where: {
                $0.rawValue.utf8.elementsEqual(token.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 })
            }) else { throw TraceFilterError.invalidStatus(String(token)) }
            selected.insert(status)
        }
        self.selected = selected
        self.inverted = inverted
    }

    private init(selected: Set<SyscallStatus>, inverted: Bool) {
        self.selected = selected
        self.inverted = inverted
    }

    /// Every status (strace's default).
    public static let all = StatusQualifier(selected: [], inverted: true)
    /// `-Z` (`--failed-only`).
    public static let failedOnly = StatusQualifier(selected: [.failed], inverted: false)
    /// `-z` (`--successful-only`).
    public static let successfulOnly = StatusQualifier(selected: [.successful], inverted: false)

    public func matches(_ status: SyscallStatus) -> Bool { selected.contains(status) != inverted }
}
