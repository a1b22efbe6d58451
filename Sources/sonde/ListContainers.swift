import ArgumentParser
import Containers
import DaemonAPI
import Events
import LinuxKit

struct ListContainers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "containers",
        abstract: "List the containers sonde sees, with their cgroup and pod.",
        discussion: "Asks the sonde daemon when one answers (its list includes containers OCI hooks registered); reads the runtimes' state itself otherwise.")

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var daemon: DaemonOptions

    func run() async throws {
        let containers: [Container]
        if let endpoint = await daemon.answeringEndpoint() {
            let cgroups = try CgroupV2.find()
            let selector = Sonde_V1_Selector(try selection.selector(cgroups: cgroups))
            let reply = try await DaemonClient.with(endpoint: endpoint) { client in
                try await client.listContainers(.with { $0.selector = selector }, options: DaemonClient.options(timeout: .seconds(30)))
            }
            for problem in reply.problems { Output.notice(problem) }
            containers = reply.containers.map(\.container.container)
        } else {
            let collection = try selection.collection()
            let selector = try selection.selector(cgroups: collection.cgroups)
            let change = collection.refresh()
            for problem in change.problems { Output.notice(problem) }
            containers = collection.all.filter(selector.matches)
        }
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
    }
}
