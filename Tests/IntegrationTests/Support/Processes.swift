import Foundation
import TestSupport

/// Thrown by a test's setUp when not run as root: integration tests fail rather than skip, so that
/// a run that could not exercise them never looks green.
struct RootRequired: Error, CustomStringConvertible {
    var description: String { "integration tests need root: run scripts/test.sh as root" }
}

/// The names of the programs attached through a BPF link, one per link.
func attachedPrograms() throws -> [String] {
    func json(_ arguments: [String]) throws -> [[String: Any]] {
        let output = try run("/usr/sbin/bpftool", ["-j"] + arguments).stdout
        guard let list = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] else {
            throw TestFailure("bpftool -j \(arguments.joined(separator: " ")): not a JSON list")
        }
        return list
    }
    var names: [Int: String] = [:]
    for program in try json(["prog", "show"]) {
        if let id = program["id"] as? Int, let name = program["name"] as? String { names[id] = name }
    }
    return try json(["link", "show"]).compactMap { ($0["prog_id"] as? Int).flatMap { names[$0] } }
}
