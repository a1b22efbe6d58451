import Foundation

/// The command line of one of the bench's modes, read flag by flag: `-h`/`--help` prints the
/// usage and exits 0, a bad argument prints the message and the usage and exits 2.
struct BenchArguments {
    private var rest: ArraySlice<String>
    /// As the user typed it: "sonde-bench", "sonde-bench idle".
    let mode: String
    let usage: String

    init(_ arguments: [String], mode: String, usage: String) {
        rest = arguments[...]
        self.mode = mode
        self.usage = usage
    }

    /// The next flag, or nil at the end.
    mutating func next() -> String? {
        guard let argument = rest.popFirst() else { return nil }
        if argument == "-h" || argument == "--help" {
            print(usage)
            exit(0)
        }
        return argument
    }

    /// The value after `flag`.
    mutating func value(_ flag: String) -> String {
        guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
        return next
    }

    /// The integer after `flag`, which must lie in `range` (else `message`).
    mutating func int(_ flag: String, in range: PartialRangeFrom<Int>, _ message: String) -> Int {
        guard let n = Int(value(flag)), range.contains(n) else { fail(message) }
        return n
    }

    mutating func int(_ flag: String, in range: ClosedRange<Int>, _ message: String) -> Int {
        guard let n = Int(value(flag)), range.contains(n) else { fail(message) }
        return n
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("\(mode): \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}
