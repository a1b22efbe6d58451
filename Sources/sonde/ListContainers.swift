import ArgumentParser
import Containers
import Events
import LinuxKit

struct ListContainers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "containers",
        abstract: "List the containers sonde sees, with their cgroup and pod.")

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        do {
            let collection = try selection.collection()
            let selector = try selection.selector(cgroups: collection.cgroups)
            let change = collection.refresh()
            for problem in change.problems { Output.notice(problem) }
            let containers = collection.all.filter(selector.matches)
            switch output.output {
            case .json:
                for c in containers { Output.line(JSONRenderer.describe(c)) }
            case .columns:
                let header = ["RUNTIME", "NAME", "ID", "PID", "CGROUP ID", "NAMESPACE", "POD", "CGROUP"]
                var rows = [header]
                for c in containers {
                    rows.append([c.runtime.rawValue, c.name, String(c.id.prefix(12)), c.initPID.map(String.init) ?? "",
                                 String(c.cgroupID), c.pod?.namespace ?? "", c.pod?.name ?? "", c.cgroupPath])
                }
                for line in TextTable.align(rows) { Output.line(line) }
            }
        } catch {
            throw Output.fail(error)
        }
    }
}
