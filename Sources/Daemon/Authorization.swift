import Containers
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LinuxKit
import Synchronization
import X509

/// Who a TCP client is: the user and groups of its certificate (subject CN and O, as Kubernetes
/// reads client certificates), or the Kubernetes user a forwarder authorised to impersonate names
/// in the request's metadata.
public struct ClientIdentity: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var groups: [String]
    /// The certificate's user when this identity was forwarded (impersonated).
    public var forwardedBy: String?

    public init(user: String, groups: [String] = [], forwardedBy: String? = nil) {
        self.user = user
        self.groups = groups
        self.forwardedBy = forwardedBy
    }

    public var description: String {
        "user \"\(user)\"" + (groups.isEmpty ? "" : " (groups \(groups.joined(separator: ", ")))")
            + (forwardedBy.map { " forwarded by \"\($0)\"" } ?? "")
    }

    /// The metadata keys a forwarder (kubectl sonde with --as) names the Kubernetes user in.
    public static let impersonateUserKey = "sonde-impersonate-user"
    public static let impersonateGroupKey = "sonde-impersonate-group"
}

/// One entry of the config's `tcp.clients`: a user or group, and what it may see.
public struct ClientRule: Sendable, Equatable {
    public enum Subject: Sendable, Equatable {
        case user(String)
        case group(String)
    }

    public var subject: Subject
    /// The pod namespaces whose containers it may read; "*" is every pod namespace.
    public var podNamespaces: [String]
    /// Every container, pod or not, and host processes.
    public var wholeNode: Bool
    /// May name another user in the request's metadata and act as that user (only that user's
    /// rules then apply), as Kubernetes' impersonation.
    public var impersonate: Bool

    public init(subject: Subject, podNamespaces: [String] = [], wholeNode: Bool = false, impersonate: Bool = false) {
        self.subject = subject
        self.podNamespaces = podNamespaces
        self.wholeNode = wholeNode
        self.impersonate = impersonate
    }

    func matches(_ identity: ClientIdentity) -> Bool {
        switch subject {
        case .user(let user): identity.user == user
        case .group(let group): identity.groups.contains(group)
        }
    }
}

/// What one client may read: containers of some pod namespaces, or the whole node.
public struct Grant: Sendable, Equatable {
    public var wholeNode: Bool
    public var everyPodNamespace: Bool
    public var podNamespaces: Set<String>

    public static let everything = Grant(wholeNode: true, everyPodNamespace: true, podNamespaces: [])

    public var isEmpty: Bool { !wholeNode && !everyPodNamespace && podNamespaces.isEmpty }

    public func permits(_ container: Container) -> Bool {
        if wholeNode { return true }
        guard let namespace = container.pod?.namespace else { return false }
        return everyPodNamespace || podNamespaces.contains(namespace)
    }

    public var summary: String {
        if wholeNode { return "the whole node" }
        if everyPodNamespace { return "every pod namespace" }
        return "pod namespaces " + podNamespaces.sorted().joined(separator: ", ")
    }
}

/// The client of one call: root on the node's unix socket, or an authorised TCP client.
public enum APIClient: Sendable {
    case local
    case remote(ClientIdentity, Grant)

    /// Set by `TCPAuthorization` around each TCP call's handler.
    @TaskLocal static var current: APIClient?

    var grant: Grant {
        switch self {
        case .local: .everything
        case .remote(_, let grant): grant
        }
    }

    var isLocal: Bool { if case .local = self { true } else { false } }

    var name: String {
        switch self {
        case .local: "root (unix socket)"
        case .remote(let identity, _): identity.description
        }
    }
}

/// Who may do what over TCP (config `tcp.clients`). Certificates signed by clientCA are only
/// authenticated: a certificate no rule names gets PERMISSION_DENIED on every call.
public struct Authorizer: Sendable {
    public let rules: [ClientRule]

    public init(rules: [ClientRule]) { self.rules = rules }

    /// The identity and grant for a certificate's subject and the request's metadata.
    public func authorize(certificateUser: String, certificateGroups: [String], metadata: Metadata) throws(SondeError) -> APIClient {
        let certified = ClientIdentity(user: certificateUser, groups: certificateGroups)
        let forwardedUser = metadata[stringValues: ClientIdentity.impersonateUserKey].first { _ in true }
        let forwardedGroups = Array(metadata[stringValues: ClientIdentity.impersonateGroupKey])
        var identity = certified
        if let forwardedUser {
            guard rules.contains(where: { $0.impersonate && $0.matches(certified) }) else {
                throw SondeError(.notPrivileged, "\(certified) may not impersonate \"\(forwardedUser)\"",
                                 hint: "only a client with a tcp.clients rule \"impersonate\": true may forward a user")
            }
            identity = ClientIdentity(user: forwardedUser, groups: forwardedGroups, forwardedBy: certificateUser)
        } else if !forwardedGroups.isEmpty {
            throw SondeError(.invalidArgument, "\(ClientIdentity.impersonateGroupKey) needs \(ClientIdentity.impersonateUserKey)")
        }
        var grant = Grant(wholeNode: false, everyPodNamespace: false, podNamespaces: [])
        for rule in rules where rule.matches(identity) {
            grant.wholeNode = grant.wholeNode || rule.wholeNode
            grant.everyPodNamespace = grant.everyPodNamespace || rule.podNamespaces.contains("*")
            grant.podNamespaces.formUnion(rule.podNamespaces.filter { $0 != "*" })
        }
        guard !grant.isEmpty else {
            throw SondeError(.notPrivileged, "\(identity) is not authorised on this daemon",
                             hint: "the daemon's config grants TCP clients pod namespaces in tcp.clients")
        }
        return .remote(identity, grant)
    }

    /// CN as the user, every O as a group (the Kubernetes convention for client certificates).
    static func subject(of certificate: Certificate) -> (user: String, groups: [String]) {
        var user = ""
        var groups: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                guard let value = String(attribute.value) else { continue }
                if attribute.type == .RDNAttributeType.commonName { user = value }
                if attribute.type == .RDNAttributeType.organizationName { groups.append(value) }
            }
        }
        return (user, groups)
    }
}

/// Runs every TCP call as its authorised client (APIClient.current), or refuses it with
/// PERMISSION_DENIED before any handler runs. Streams' bodies run after `next` returns, so the
/// response's producer is wrapped too.
struct TCPAuthorization: ServerInterceptor {
    let authorizer: Authorizer

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate else {
            throw RPCError(code: .unauthenticated, message: "no client certificate")
        }
        let subject = Authorizer.subject(of: certificate)
        let client: APIClient
        do {
            client = try authorizer.authorize(certificateUser: subject.user, certificateGroups: subject.groups, metadata: request.metadata)
        } catch {
            throw RPCError(error)
        }
        return try await APIClient.$current.withValue(client) {
            var response = try await next(request, context)
            if case .success(var contents) = response.accepted {
                let produce = contents.producer
                contents.producer = { writer in try await APIClient.$current.withValue(client) { try await produce(writer) } }
                response.accepted = .success(contents)
            }
            return response
        }
    }
}

/// Concurrent streams per client identity (config `tcp.limits.streamsPerClient`): one certificate
/// cannot hold every gadget the node can run.
final class StreamQuota: Sendable {
    let limit: Int
    private let open = Mutex<[ClientIdentity: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Counts a stream of `client` until `body` ends, or refuses it with RESOURCE_EXHAUSTED.
    func run<T>(_ client: APIClient, _ body: () async throws -> T) async throws -> T {
        guard case .remote(let identity, _) = client else { return try await body() }
        let admitted = open.withLock { counts in
            guard counts[identity, default: 0] < limit else { return false }
            counts[identity, default: 0] += 1
            return true
        }
        guard admitted else {
            throw SondeError(.resourceExhausted, "\(identity) already has \(limit) streams open on this daemon",
                             hint: "end one first (tcp.limits.streamsPerClient)")
        }
        defer {
            open.withLock { counts in
                counts[identity, default: 1] -= 1
                if counts[identity] == 0 { counts[identity] = nil }
            }
        }
        return try await body()
    }
}
