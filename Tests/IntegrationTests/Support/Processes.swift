import Foundation
import TestSupport

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
