import Containers
import Foundation
import LinuxKit

/// Where the API server is and how to prove who we are: from a kubeconfig's current context, or
/// from the pod's service account when running inside the cluster.
public struct KubeCredentials: Sendable {
    public var scheme: String
    public var host: String
    public var port: Int
    /// A path prefix of the server URL ("https://host/k8s/clusters/x" gives "/k8s/clusters/x").
    public var basePath: String
    /// PEM: the CA that signed the API server's certificate; nil: the system's trust roots.
    public var certificateAuthority: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    /// PEM: client certificate and key (mutual TLS authentication).
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?
    public var bearerToken: String?
    /// The namespace of the context (or of the service account): the default of `-n`.
    public var namespace: String
    /// What these came from, for errors ("kubeconfig context kind-dev", "in-cluster service account").
    public var origin: String

    public init(server: String, certificateAuthority: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
                clientCertificate: [UInt8]? = nil, clientKey: [UInt8]? = nil, bearerToken: String? = nil,
                namespace: String = "default", origin: String) throws(SondeError) {
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else {
            throw SondeError(.invalidArgument, "\(origin): server '\(server)' is not an https:// (or http://) URL")
        }
        self.scheme = scheme
        self.host = host
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
        self.basePath = url.path == "/" ? "" : url.path
        self.certificateAuthority = certificateAuthority
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.bearerToken = bearerToken
        self.namespace = namespace
        self.origin = origin
    }

    /// The service account Kubernetes mounts into every pod (unless disabled), and the API
    /// server's address from the environment it sets.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(SondeError) -> KubeCredentials {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw SondeError(.notFound, "not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)",
                             hint: "give a kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config)")
        }
        let port = environment["KUBERNETES_SERVICE_PORT"] ?? "443"
        let token = String(decoding: try Files.readData(directory + "/token"), as: UTF8.self).trimmingWhitespace
        let ca = Array(try Files.readData(directory + "/ca.crt"))
        let namespace = (try? Files.readData(directory + "/namespace")).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace } ?? "default"
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return try KubeCredentials(server: "https://\(bracketed):\(port)", certificateAuthority: ca, bearerToken: token,
                                   namespace: namespace.isEmpty ? "default" : namespace, origin: "in-cluster service account")
    }

    /// The current context of a kubeconfig, as JSON (`kubectl config view --raw --minify --flatten
    /// -o json` gives it, with every referenced file embedded as base64 data).
    public static func fromKubeconfigJSON(_ data: Data, origin: String) throws(SondeError) -> KubeCredentials {
        guard let root = (try? JSONValue.parse(data))?.object else {
            throw SondeError(.malformedInput, "\(origin) is not a kubeconfig (JSON expected)")
        }
        let currentName = root["current-context"]?.string ?? ""
        func named(_ list: String, _ name: String?) -> [String: JSONValue]? {
            let entries = root[list]?.array?.compactMap(\.object) ?? []
            let entry = name.flatMap { n in entries.first { $0["name"]?.string == n } } ?? (entries.count == 1 ? entries.first : nil)
            return entry
        }
        guard let contextEntry = named("contexts", currentName), let context = contextEntry["context"]?.object else {
            throw SondeError(.invalidArgument, "\(origin): no current context", hint: "kubectl config use-context NAME")
        }
        let contextName = contextEntry["name"]?.string ?? currentName
        guard let clusterEntry = named("clusters", context["cluster"]?.string), let cluster = clusterEntry["cluster"]?.object,
              let server = cluster["server"]?.string else {
            throw SondeError(.invalidArgument, "\(origin): context \(contextName) names no cluster with a server")
        }
        let user = named("users", context["user"]?.string)?["user"]?.object ?? [:]
        if user["exec"] != nil || user["auth-provider"] != nil {
            throw SondeError(.invalidArgument, "\(origin): context \(contextName) authenticates with an exec or auth-provider plugin, which kubectl-sonde does not run",
                             hint: "use a context with a client certificate or a token, or run `kubectl proxy` and pass --server http://127.0.0.1:8001")
        }
        func decoded(_ object: [String: JSONValue], _ dataKey: String, _ fileKey: String) throws(SondeError) -> [UInt8]? {
            if let base64 = object[dataKey]?.string {
                guard let bytes = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
                    throw SondeError(.malformedInput, "\(origin): \(dataKey) is not base64")
                }
                return Array(bytes)
            }
            if let path = object[fileKey]?.string { return Array(try Files.readData(path)) }
            return nil
        }
        var token = user["token"]?.string
        if token == nil, let file = user["tokenFile"]?.string {
            token = String(decoding: try Files.readData(file), as: UTF8.self).trimmingWhitespace
        }
        return try KubeCredentials(server: server,
                                   certificateAuthority: try decoded(cluster, "certificate-authority-data", "certificate-authority"),
                                   insecureSkipTLSVerify: cluster["insecure-skip-tls-verify"]?.bool ?? false,
                                   clientCertificate: try decoded(user, "client-certificate-data", "client-certificate"),
                                   clientKey: try decoded(user, "client-key-data", "client-key"),
                                   bearerToken: token,
                                   namespace: context["namespace"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
                                   origin: "kubeconfig context \(contextName)")
    }

    /// Reads a kubeconfig (YAML or JSON, possibly a $KUBECONFIG list) through kubectl, which this
    /// plugin runs under anyway: it resolves the current context and merges files exactly as
    /// kubectl does, offline, and spares sonde a YAML parser.
    public static func fromKubeconfig(path: String?, context: String?, kubectl: String = "kubectl") throws(SondeError) -> KubeCredentials {
        var arguments = ["config", "view", "--raw", "--minify", "--flatten", "-o", "json"]
        if let path { arguments += ["--kubeconfig", path] }
        if let context { arguments += ["--context", context] }
        let json: Data
        do {
            json = try ExternalCommand(executable: kubectl, timeout: 20).run(arguments)
        } catch {
            throw SondeError(.invalidArgument, "cannot read the kubeconfig: \(error.message)", hint: "check --kubeconfig / $KUBECONFIG and --context",
                             details: error.details)
        }
        return try fromKubeconfigJSON(json, origin: path ?? "kubeconfig")
    }
}
