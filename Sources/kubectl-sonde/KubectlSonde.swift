import CommandOptions
import ArgumentParser
import Cluster
import DaemonAPI
import Events
import Foundation
import LinuxKit

/// `kubectl sonde`: kubectl finds this executable on PATH by its name (kubectl-sonde). Parses,
/// resolves pods through the Kubernetes API, and hands the rest to the Cluster library.
@main
struct KubectlSonde: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubectl sonde",
        abstract: "sonde across a Kubernetes cluster: trace gadgets, flight recorder dumps and supervisor events of selected pods, merged from every node's daemon.",
        discussion: """
        Pods are selected as with kubectl (-n, -A, -p, -l, --node, -c) through the Kubernetes API \
        (kubeconfig, or the service account inside a pod); the sonde daemon of each node that runs \
        one of them (the DaemonSet of `kubectl sonde deploy`) is asked over TCP with mutual TLS, and \
        their streams are merged with NODE, NAMESPACE, POD and CONTAINER columns. A node that does \
        not answer is reported and the others go on. The client's certificate, key and CA default to \
        client.pem, client.key and ca.pem in $SONDE_TLS_DIR, else in ~/.sonde.
        """,
        subcommands: [Trace.self, Record.self, SuperviseEvents.self, Pods.self, Deploy.self, Undeploy.self])

    static func main() async {
        await parseAndRun(tool: "kubectl-sonde")
    }
}

/// Which pods: kubectl's flags.
struct PodOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .long], help: "The pods' namespace (default: the context's).")
    var namespace: String?

    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "Pods of every namespace.")
    var allNamespaces = false

    @Option(name: [.customShort("p"), .customLong("podname")], help: "Only this pod (repeatable).")
    var podNames: [String] = []

    @Option(name: [.customShort("l"), .long], help: "Label selector: k=v, k!=v, 'k in (a,b)', 'k notin (a,b)', k, !k; comma-separated.")
    var selector: String?

    @Option(help: "Only pods on this node.")
    var node: String?

    @Option(name: [.customShort("c"), .customLong("containername")], help: "Only this container of the pods (repeatable).")
    var containerNames: [String] = []

    func validate() throws {
        if allNamespaces && namespace != nil { throw ValidationError("-A and -n exclude each other") }
        if let selector { _ = try parsed(selector) }
    }

    func parsed(_ text: String) throws -> LabelSelector {
        do { return try LabelSelector(text) } catch { throw ValidationError(error.description) }
    }

    func selection(defaultNamespace: String) throws -> PodSelection {
        PodSelection(namespace: allNamespaces ? nil : (namespace ?? defaultNamespace), podNames: podNames,
                     labelSelector: try selector.map(parsed), node: node, containerNames: containerNames)
    }
}

/// Where the Kubernetes API is, and how to reach the daemons.
struct ClusterOptions: ParsableArguments {
    @Option(help: "kubeconfig file (default: $KUBECONFIG, ~/.kube/config; inside a pod, its service account).")
    var kubeconfig: String?

    @Option(help: "kubeconfig context (default: the current one).")
    var context: String?

    @Option(help: "API server URL without authentication of our own, e.g. http://127.0.0.1:8001 from `kubectl proxy`.")
    var server: String?

    @Option(help: "Pods and nodes from a JSON file ({\"pods\": PodList, \"nodes\": NodeList}, e.g. from `kubectl get -o json`) instead of the API.")
    var clusterFile: String?

    @Option(help: "The daemons' TCP port (the DaemonSet's).")
    var daemonPort = 7443

    // Without them: $SONDE_TLS_DIR/client.pem (else ~/.sonde/client.pem), client.key and ca.pem beside it.
    @OptionGroup var clientTLS: TLSClientOptions

    @Option(help: "The name every daemon's certificate carries (one certificate for the DaemonSet); '{node}' stands for each node's name (a certificate per node).")
    var tlsServerName = "sonde-daemon"

    @Option(help: "How to reach the daemons: direct (each node's address) or port-forward (through the API server, with kubectl).")
    var via: Route = .direct

    @Option(help: "A node's daemon address, overriding the Node object's (NODE=HOST; repeatable).")
    var nodeAddress: [String] = []

    @Option(help: "Seconds a daemon has to accept, finish TLS and answer before its node is reported missing.")
    var connectTimeout: Double = 3

    @Option(name: .customLong("as"), help: "Act as this Kubernetes user on the daemons (the certificate must be one they let impersonate).")
    var asUser: String?

    @Option(name: .customLong("as-group"), help: "With --as: a group of that user (repeatable).")
    var asGroup: [String] = []

    var impersonation: ClusterFanOut.Impersonation? { asUser.map { ClusterFanOut.Impersonation(user: $0, groups: asGroup) } }

    enum Route: String, ExpressibleByArgument, CaseIterable { case direct, portForward = "port-forward" }

    func validate() throws {
        guard connectTimeout > 0, connectTimeout <= 300 else { throw ValidationError("--connect-timeout must be from 0 to 300 seconds") }
        guard (1...65535).contains(daemonPort) else { throw ValidationError("--daemon-port must be a TCP port") }
        for entry in nodeAddress where !entry.contains("=") { throw ValidationError("--node-address takes NODE=HOST, not '\(entry)'") }
        if asUser == nil && !asGroup.isEmpty { throw ValidationError("--as-group needs --as") }
        if clusterFile != nil && (server != nil || kubeconfig != nil) { throw ValidationError("--cluster-file excludes --server and --kubeconfig") }
    }

    /// The API and the namespace `-n` defaults to.
    func api() throws(SondeError) -> (any KubernetesAPI, namespace: String) {
        if let clusterFile { return (try StaticKubernetesAPI.load(path: clusterFile), "default") }
        let credentials: KubeCredentials
        if let server {
            credentials = try KubeCredentials(server: server, origin: "--server \(server)")
        } else if kubeconfig == nil, context == nil, ProcessInfo.processInfo.environment["KUBECONFIG"] == nil,
                  ProcessInfo.processInfo.environment["KUBERNETES_SERVICE_HOST"] != nil {
            credentials = try KubeCredentials.inCluster()
        } else {
            credentials = try KubeCredentials.fromKubeconfig(path: kubeconfig, context: context)
        }
        return (try HTTPSKubernetesAPI(credentials: credentials), credentials.namespace)
    }

    var tls: DaemonEndpoint.ClientTLS {
        let directory = ProcessInfo.processInfo.environment["SONDE_TLS_DIR"] ?? (NSHomeDirectory() + "/.sonde")
        let cert = clientTLS.tlsCert ?? directory + "/client.pem"
        let base = (cert as NSString).deletingLastPathComponent
        return DaemonEndpoint.ClientTLS(certificate: cert, key: clientTLS.tlsKey ?? base + "/client.key", ca: clientTLS.tlsCa ?? base + "/ca.pem",
                                        serverName: tlsServerName.isEmpty ? nil : tlsServerName)
    }

    func dialer(api: any KubernetesAPI) throws(SondeError) -> any DaemonDialer {
        let tls = self.tls
        for file in [tls.certificate, tls.key, tls.ca] where !Files.exists(file) {
            throw SondeError(.invalidArgument, "TLS file \(file) does not exist",
                             hint: "the daemons take mutual TLS only: give --tls-cert, --tls-key and --tls-ca (deploy/kubernetes/README.md makes them)")
        }
        switch via {
        case .direct:
            var addresses: [String: String] = [:]
            for entry in nodeAddress {
                let parts = entry.split(separator: "=", maxSplits: 1)
                addresses[String(parts[0])] = String(parts[1])
            }
            return DirectDialer(port: daemonPort, tls: tls, addresses: addresses)
        case .portForward:
            var kubectl = ["kubectl"]
            if let kubeconfig { kubectl += ["--kubeconfig", kubeconfig] }
            if let context { kubectl += ["--context", context] }
            return KubectlPortForwardDialer(api: api, namespace: Manifests.namespace, labelSelector: try LabelSelector(Manifests.daemonLabel),
                                            port: daemonPort, tls: tls, kubectl: kubectl)
        }
    }

    var connect: Duration { .milliseconds(Int64(connectTimeout * 1000)) }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case columns, json }

/// Resolves, runs and prints one operation; the exit status is non-zero when no node answered.
func runOnCluster(pods: PodOptions, cluster: ClusterOptions, operation: ClusterOperation, columns: [Column],
                  format: OutputFormat, timeout: Double?) async throws {
    let (api, namespace) = try cluster.api()
    let selection = try pods.selection(defaultNamespace: namespace)
    let plan = try await ClusterPlan.resolve(selection, api: api)
    guard !plan.nodes.isEmpty else {
        for skipped in plan.skipped { ClusterSession.printLine(STDERR_FILENO, "kubectl-sonde: skipped \(skipped)") }
        throw SondeError(.notFound, "none of the selected pods has a running container to trace")
    }
    let fanOut = ClusterFanOut(dialer: try cluster.dialer(api: api), connectTimeout: cluster.connect, timeoutSeconds: timeout ?? 0,
                                impersonate: cluster.impersonation)
    let outcome = await ClusterSession.run(plan, operation, fanOut: fanOut, follow: ClusterFanOut.Follow(api: api, selection: selection),
                                           renderer: ClusterRenderer(format: format == .json ? .json : .columns, columns: columns))
    if outcome.failedNodes.count == outcome.nodes { throw ExitCode.failure }
}

struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a trace gadget on the selected pods' nodes and merge the events: `kubectl sonde trace exec -n shop -l app=web`.")

    @Argument(help: "The gadget: \(ClusterGadgets.names.joined(separator: ", ")).")
    var gadget: String

    @Option(help: "Columns, from the gadget's fields (`sonde trace GADGET --help` lists them).")
    var fields: String?

    @Option(name: [.customShort("o"), .long], help: "columns or json (one object per line, with node, namespace and pod).")
    var output: OutputFormat = .columns

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    @OptionGroup var pods: PodOptions
    @OptionGroup var cluster: ClusterOptions

    func validate() throws {
        guard ClusterGadgets.catalog(gadget) != nil else {
            throw ValidationError("unknown gadget '\(gadget)'; valid gadgets: " + ClusterGadgets.names.joined(separator: ", "))
        }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let columns: [Column]
        do {
            columns = try ClusterGadgets.catalog(gadget)!.columns(fields?.split(separator: ",").map(String.init))
        } catch {
            throw ValidationError(error.description)
        }
        try await runOnCluster(pods: pods, cluster: cluster, operation: .gadget(gadget), columns: columns, format: output, timeout: timeout)
    }
}

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The flight recorders of the selected pods' nodes.", subcommands: [Dump.self])

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What each node's flight recorder holds for the selected containers, prefixed with NODE, NAMESPACE, POD, CONTAINER.")

        @Option(help: "Only the last N calls of each container.")
        var last: UInt32 = 0

        @Option(name: [.customShort("o"), .long], help: "columns (strace text) or json (one object per call).")
        var output: OutputFormat = .columns

        @OptionGroup(title: "strace's reading options") var reading: StraceReadingOptions

        @OptionGroup var pods: PodOptions
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            try await runOnCluster(pods: pods, cluster: cluster,
                                   operation: .recorderDump(last: last, json: output == .json, reading: reading.reading),
                                   columns: [], format: output, timeout: nil)
        }
    }
}

struct SuperviseEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise-events",
        abstract: "The decisions of every selected node's seccomp agent (daemon config \"supervise\") for the selected pods.")

    @Option(name: [.customShort("o"), .long], help: "columns or json.")
    var output: OutputFormat = .columns

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    @OptionGroup var pods: PodOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        try await runOnCluster(pods: pods, cluster: cluster, operation: .supervisorEvents, columns: ClusterGadgets.supervisorColumns,
                               format: output, timeout: timeout)
    }
}

struct Pods: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Which containers the selection gives, on which node and address (nothing is traced).")

    @OptionGroup var pods: PodOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let (api, namespace) = try cluster.api()
        let plan = try await ClusterPlan.resolve(try pods.selection(defaultNamespace: namespace), api: api)
        var rows = [["NODE", "ADDRESS", "NAMESPACE", "POD", "CONTAINER", "CONTAINER ID"]]
        for node in plan.nodes {
            for c in node.containers {
                rows.append([node.node, node.host ?? "-", c.pod.namespace, c.pod.name, c.container.name, String(c.container.id.prefix(13))])
            }
        }
        for line in TextTable.align(rows) { ClusterSession.printLine(STDOUT_FILENO, line) }
        for skipped in plan.skipped { ClusterSession.printLine(STDERR_FILENO, "kubectl-sonde: skipped \(skipped)") }
    }
}
