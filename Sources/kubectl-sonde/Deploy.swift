import ArgumentParser
import Cluster
import Foundation
import LinuxKit

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the DaemonSet, its config and RBAC (deploy/kubernetes); --apply applies them with kubectl.",
        discussion: "The daemons need the Secret sonde-tls first (deploy/kubernetes/README.md).")

    @Option(help: "The sonde image (built from deploy/kubernetes/Containerfile).")
    var image = Manifests.defaultImage

    @Flag(help: "Apply with `kubectl apply -f -` instead of printing.")
    var apply = false

    @Option(help: ArgumentHelp("Write rbac.yaml and daemonset.yaml into this directory (deploy/kubernetes) instead of printing.", visibility: .hidden))
    var write: String?

    func run() async throws {
        if let write {
            do {
                try Manifests.rbac.write(toFile: write + "/rbac.yaml", atomically: true, encoding: .utf8)
                try Manifests.daemonSet(image: image).write(toFile: write + "/daemonset.yaml", atomically: true, encoding: .utf8)
            } catch {
                ClusterSession.printLine(STDERR_FILENO, "kubectl-sonde: error: \(error)")
                throw ExitCode.failure
            }
            return
        }
        try applyOrPrint(Manifests.all(image: image), kubectlArguments: ["apply", "-f", "-"], apply: apply)
    }
}

struct Undeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what deploy creates, to delete; --apply deletes it with kubectl (the recorder's pins stay on the nodes until `sonde record stop`).")

    @Flag(help: "Delete with `kubectl delete -f -` instead of printing.")
    var apply = false

    func run() async throws {
        try applyOrPrint(Manifests.all(), kubectlArguments: ["delete", "--ignore-not-found", "-f", "-"], apply: apply)
    }
}

/// Prints `yaml`, or pipes it to kubectl and passes on kubectl's output and status.
func applyOrPrint(_ yaml: String, kubectlArguments: [String], apply: Bool) throws {
    guard apply else {
        try? writeAll(STDOUT_FILENO, yaml)
        return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["kubectl"] + kubectlArguments
    let input = Pipe()
    process.standardInput = input
    do {
        try process.run()
    } catch {
        ClusterSession.printLine(STDERR_FILENO, "kubectl-sonde: error: cannot run kubectl: \(error)")
        throw ExitCode.failure
    }
    input.fileHandleForWriting.write(Data(yaml.utf8))
    try? input.fileHandleForWriting.close()
    process.waitUntilExit()
    if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
}
