import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LinuxKit

public typealias SondeAPIClient = Sonde_V1_Sonde.Client<HTTP2ClientTransport.Posix>

extension SondeError.Code {
    /// No daemon listens on the socket, or it did not answer in time.
    public static let daemonUnavailable = SondeError.Code("daemon unavailable")
}

/// Where a client reaches a daemon: its unix socket on the node, or TCP with mutual TLS.
public enum DaemonEndpoint: Sendable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: Int, tls: ClientTLS)

    /// The client's side of mutual TLS: its certificate and key, and the CA that signed the
    /// daemon's certificate (PEM files). The daemon's certificate must name the host dialled.
    public struct ClientTLS: Sendable {
        public var certificate: String
        public var key: String
        public var ca: String
        /// The name the daemon's certificate must carry, when it differs from the host dialled
        /// (cluster mode: one certificate for every node's daemon, dialled by node IP or through a
        /// port-forward). Sent as SNI and checked against the certificate's subjectAltName.
        public var serverName: String?

        public init(certificate: String, key: String, ca: String, serverName: String? = nil) {
            self.certificate = certificate
            self.key = key
            self.ca = ca
            self.serverName = serverName
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): path
        case .tcp(let host, let port, _): "\(host.contains(":") ? "[\(host)]" : host):\(port) (mTLS)"
        }
    }

    /// An IP literal as an address target: TLS then checks the certificate's IP SAN and sends no
    /// SNI (SNI cannot carry an IP address); a name as a DNS target, verified against the name.
    static func target(host: String, port: Int) -> any ResolvableTarget {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return .ipv4(address: host, port: port) }
        if inet_pton(AF_INET6, host, &v6) == 1 { return .ipv6(address: host, port: port) }
        return .dns(host: host, port: port)
    }

    /// "HOST:PORT" or "[IPv6]:PORT".
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

/// How the CLI and the OCI hook reach `sonde daemon`: gRPC over its unix socket (or TCP with mTLS).
public enum DaemonClient {
    public static let defaultSocket = "/run/sonde/sonde.sock"

    /// Options for one call: a deadline, and failing at once when nothing listens (rather than
    /// waiting for a daemon to appear), so that callers can fall back or give up quickly.
    public static func options(timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        return options
    }

    /// Connects to the daemon at `socket`, runs `body` with the API client, then closes the
    /// connection. gRPC and transport failures become SondeErrors.
    public static func with<Result: Sendable>(
        socket: String, _ body: (SondeAPIClient) async throws -> Result
    ) async throws(SondeError) -> Result {
        try await with(endpoint: .unix(socket), body)
    }

    public static func with<Result: Sendable>(
        endpoint: DaemonEndpoint, _ body: (SondeAPIClient) async throws -> Result
    ) async throws(SondeError) -> Result {
        let socket = endpoint.description
        do {
            let transport: HTTP2ClientTransport.Posix
            switch endpoint {
            case .unix(let path):
                guard Files.exists(path) else {
                    throw SondeError(.daemonUnavailable, "no sonde daemon listens at \(path)", hint: "start one with `sonde daemon`")
                }
                transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
            case .tcp(let host, let port, let tls):
                for file in [tls.certificate, tls.key, tls.ca] where !Files.exists(file) {
                    throw SondeError(.invalidArgument, "TLS file \(file) does not exist")
                }
                var config = HTTP2ClientTransport.Posix.Config.defaults
                // The authority is what TLS verifies the certificate against (and sends as SNI).
                if let serverName = tls.serverName { config.http2.authority = serverName }
                transport = try HTTP2ClientTransport.Posix(
                    target: DaemonEndpoint.target(host: host, port: port),
                    transportSecurity: .mTLS(certificateChain: [.file(path: tls.certificate, format: .pem)],
                                             privateKey: .file(path: tls.key, format: .pem)) { config in
                        config.trustRoots = .certificates([.file(path: tls.ca, format: .pem)])
                        config.serverCertificateVerification = .fullVerification
                    },
                    config: config)
            }
            return try await withGRPCClient(transport: transport) { client in
                try await body(Sonde_V1_Sonde.Client(wrapping: client))
            }
        } catch let error as SondeError {
            throw error
        } catch let error as RPCError {
            throw SondeError(rpc: error, socket: socket)
        } catch {
            throw SondeError(.system, "sonde daemon at \(socket): \(error)")
        }
    }

    /// Whether a daemon answers at `socket` within `timeout` (the CLI's choice between asking the
    /// daemon and doing the work itself).
    public static func isAnswering(socket: String, timeout: Duration = .seconds(2)) async -> Bool {
        await isAnswering(endpoint: .unix(socket), timeout: timeout)
    }

    public static func isAnswering(endpoint: DaemonEndpoint, timeout: Duration = .seconds(2)) async -> Bool {
        if case .unix(let socket) = endpoint, !Files.exists(socket) { return false }
        do {
            _ = try await with(endpoint: endpoint) { client in
                try await client.status(Sonde_V1_StatusRequest(), options: options(timeout: timeout))
            }
            return true
        } catch {
            return false
        }
    }
}

extension SondeError {
    /// The daemon's status codes back into sonde's error codes (the daemon maps them the other way,
    /// in one place: DaemonErrors.swift in the Daemon module).
    public init(rpc error: RPCError, socket: String) {
        switch error.code {
        case .unavailable, .deadlineExceeded:
            // The transport's cause says why (refused, TLS handshake failed...).
            let cause = error.cause.map { " (\($0))" } ?? ""
            self.init(.daemonUnavailable, "the sonde daemon at \(socket) did not answer: \(error.message)\(cause)",
                      hint: "is `sonde daemon` running? (`sonde daemon status`)")
        case .notFound:
            self.init(.notFound, error.message)
        case .invalidArgument:
            self.init(.invalidArgument, error.message)
        case .failedPrecondition:
            self.init(.system, error.message)
        case .permissionDenied, .unauthenticated:
            self.init(.notPrivileged, error.message)
        case .resourceExhausted:
            self.init(.resourceExhausted, error.message)
        case .unimplemented:
            self.init(.invalidArgument, "the sonde daemon at \(socket) does not know this call (an older daemon?): \(error.message)")
        default:
            self.init(.system, "sonde daemon: \(error.message)")
        }
    }
}
