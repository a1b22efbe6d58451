import Cluster
import Foundation
import Testing
import TestSupport

/// `kubectl sonde deploy`: what it prints parses as Kubernetes YAML, holds the required pieces,
/// and is what deploy/kubernetes/ commits. (`kubectl apply --dry-run=client` needs an API server
/// for its REST mapping, so the YAML is parsed with PyYAML and checked structurally.)
@Suite struct DeployTests {
    /// The documents of a YAML stream, as JSON objects.
    func documents(_ yaml: String) throws -> [[String: Any]] {
        let parsed = try run("/usr/bin/python3", ["-c", "import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))"],
                             stdin: yaml)
        guard parsed.status == 0 else { throw TestFailure("YAML does not parse: \(parsed.stderr)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [[String: Any]])
    }

    @Test func deployPrintsTheCommittedManifests() throws {
        let printed = try must(executable("kubectl-sonde"), ["deploy"])
        let rbac = try String(contentsOf: packageRoot.appendingPathComponent("deploy/kubernetes/rbac.yaml"), encoding: .utf8)
        let daemonSet = try String(contentsOf: packageRoot.appendingPathComponent("deploy/kubernetes/daemonset.yaml"), encoding: .utf8)
        #expect(printed == rbac + "---\n" + daemonSet, "deploy/kubernetes/*.yaml differ from `kubectl-sonde deploy`: regenerate them (deploy/kubernetes/README.md)")
        let undeploy = try must(executable("kubectl-sonde"), ["undeploy"])
        #expect(undeploy == printed)
        let custom = try must(executable("kubectl-sonde"), ["deploy", "--image", "registry.example.com/sonde:1.2"])
        #expect(custom.contains("image: registry.example.com/sonde:1.2"))
    }

    @Test func manifestsParseAndHoldWhatTheDaemonNeeds() throws {
        let objects = try documents(Manifests.all())
        let kinds = objects.map { "\($0["kind"] as? String ?? "?")/\(($0["metadata"] as? [String: Any])?["name"] as? String ?? "?")" }
        #expect(kinds == ["Namespace/sonde", "ServiceAccount/sonde", "ClusterRole/sonde-reader", "ClusterRoleBinding/sonde-reader",
                          "ConfigMap/sonde-daemon", "DaemonSet/sonde-daemon"])
        for object in objects { #expect(object["apiVersion"] is String) }

        // RBAC: read pods and nodes, nothing more.
        let role = objects[2]
        let rules = try #require(role["rules"] as? [[String: Any]])
        #expect(rules.count == 1)
        #expect(Set(rules[0]["resources"] as? [String] ?? []) == ["pods", "nodes"])
        #expect(Set(rules[0]["verbs"] as? [String] ?? []) == ["get", "list", "watch"])
        let subjects = try #require(objects[3]["subjects"] as? [[String: Any]])
        #expect(subjects.first?["name"] as? String == "sonde" && subjects.first?["namespace"] as? String == "sonde")

        // The daemon's config is the daemon's format, with the TCP listener the plugin dials.
        let data = try #require(objects[4]["data"] as? [String: String])
        let daemonJSON = try #require(data["daemon.json"])
        let config = try #require(try JSONSerialization.jsonObject(with: Data(daemonJSON.utf8)) as? [String: Any])
        #expect((config["tcp"] as? [String: Any])?["address"] as? String == "0.0.0.0:7443")
        // Authorisation is explicit: the node-wide grant is for a named group only, not every certificate.
        let clients = try #require((config["tcp"] as? [String: Any])?["clients"] as? [[String: Any]])
        #expect(clients.allSatisfy { $0["group"] as? String == "sonde:cluster-admins" || $0["wholeNode"] as? Bool != true }, "\(clients)")
        #expect((config["tcp"] as? [String: Any])?["limits"] is [String: Any])

        // The DaemonSet: host PID, host network, the mounts and capabilities, each with its reason in a comment.
        let spec = try #require(((objects[5]["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(spec["hostPID"] as? Bool == true && spec["hostNetwork"] as? Bool == true)
        #expect(spec["serviceAccountName"] as? String == "sonde")
        let volumes = try #require(spec["volumes"] as? [[String: Any]])
        let hostPaths = Set(volumes.compactMap { ($0["hostPath"] as? [String: Any])?["path"] as? String })
        #expect(hostPaths.isSuperset(of: ["/sys/fs/bpf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/run/containerd", "/run/sonde"]), "\(hostPaths)")
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let security = try #require(container["securityContext"] as? [String: Any])
        let added = Set(((security["capabilities"] as? [String: Any])?["add"] as? [String]) ?? [])
        #expect(added.isSuperset(of: ["BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"]), "\(added)")
        #expect(security["privileged"] as? Bool == false)
        // The probes ask the metrics listener the config opens.
        #expect((config["metrics"] as? [String: Any])?["address"] as? String == "127.0.0.1:9464")
        let liveness = (container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        let readiness = (container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        #expect(liveness?["path"] as? String == "/healthz" && liveness?["port"] as? Int == 9464, "\(String(describing: liveness))")
        #expect(readiness?["path"] as? String == "/readyz" && readiness?["port"] as? Int == 9464, "\(String(describing: readiness))")
        let mounts = Set((container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        #expect(mounts == Set(volumes.compactMap { $0["name"] as? String }), "every volume is mounted")
        let text = Manifests.daemonSet()
        for capability in added {
            // The comment line just above each capability (or the one above a group) says why.
            let lines = text.components(separatedBy: "\n")
            let index = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "- \(capability)" })
            let above = lines[..<index].reversed().first { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("- ") }
            #expect(above?.trimmingCharacters(in: .whitespaces).hasPrefix("#") == true, "\(capability) has no reason")
        }
        for key in ["hostPID: true", "hostNetwork: true", "name: bpffs", "name: tracefs", "name: cgroup", "name: run-containerd"] {
            let lines = text.components(separatedBy: "\n")
            let index = try #require(lines.firstIndex { $0.contains(key) && !$0.contains("{ name:") })
            #expect(lines[index - 1].trimmingCharacters(in: .whitespaces).hasPrefix("#"), "\(key) has no reason")
        }
    }

    @Test func containerfileBuildsTheDaemonImage() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("deploy/kubernetes/Containerfile"), encoding: .utf8)
        #expect(text.contains("--product sonde"))
        #expect(text.contains("ENTRYPOINT [\"/usr/local/bin/sonde\"]"))
        #expect(text.contains("libbpf1") && text.contains("libseccomp2"))
    }
}

@Suite struct PluginTests {
    @Test func kubectlFindsThePluginOnPath() throws {
        let directory = (executable("kubectl-sonde") as NSString).deletingLastPathComponent
        let path = directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let help = try run("/usr/bin/env", ["PATH=" + path, "KUBECONFIG=/dev/null", "kubectl", "sonde", "--help"])
        #expect(help.status == 0, "\(help.stderr)")
        for subcommand in ["trace", "record", "supervise-events", "pods", "deploy", "undeploy"] {
            #expect(help.stdout.contains(subcommand), "\(help.stdout)")
        }
        let list = try run("/usr/bin/env", ["PATH=" + path, "kubectl", "plugin", "list"])
        #expect(list.stdout.contains(directory + "/kubectl-sonde"), "\(list.stdout) \(list.stderr)")
    }

    @Test func badSelectionsAreRefusedBeforeAnyRequest() throws {
        let unknown = try run(executable("kubectl-sonde"), ["trace", "opne", "--cluster-file", "/nonexistent"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown gadget 'opne'; valid gadgets: "), "\(unknown.stderr)")
        let selector = try run(executable("kubectl-sonde"), ["trace", "exec", "-l", "env in prod", "--cluster-file", "/nonexistent"])
        #expect(selector.status != 0)
        #expect(selector.stderr.contains("needs a list in parentheses"), "\(selector.stderr)")
        let both = try run(executable("kubectl-sonde"), ["trace", "exec", "-A", "-n", "x", "--cluster-file", "/nonexistent"])
        #expect(both.stderr.contains("-A and -n exclude each other"), "\(both.stderr)")
    }

    @Test func noMatchingPodIsAClearError() throws {
        let directory = try scratchDirectory("sonde-cluster-nomatch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Fixture.write(pods: [Fixture.pod("web-0", namespace: "shop", node: "n1", hostIP: "192.0.2.1", labels: ["app": "web"],
                                             containers: [(name: "app", id: "abc")])],
                          nodes: [Fixture.node("n1", address: "192.0.2.1")], to: directory + "/cluster.json")
        let result = try run(executable("kubectl-sonde"), ["pods", "-n", "shop", "-l", "app=db", "--cluster-file", directory + "/cluster.json"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no pod matches (namespace shop, labels app=db)"), "\(result.stderr)")
        let listed = try run(executable("kubectl-sonde"), ["pods", "-A", "--cluster-file", directory + "/cluster.json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("n1") && listed.stdout.contains("192.0.2.1") && listed.stdout.contains("web-0"), "\(listed.stdout)")
    }
}
