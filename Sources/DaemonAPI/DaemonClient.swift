import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LinuxKit

public typealias SondeAPIClient = Sonde_V1_Sonde.Client<HTTP2ClientTransport.Posix>

extension SondeError.Code {
    /// No daemon listens on the socket, or it did not answer in time.
    public static let daemonUnavailable = SondeError.Code("daemon unavailable")
}

/// How the CLI and the OCI hook reach `sonde daemon`: gRPC over its unix socket.
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
        guard Files.exists(socket) else {
            throw SondeError(.daemonUnavailable, "no sonde daemon listens at \(socket)", hint: "start one with `sonde daemon`")
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
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
        guard Files.exists(socket) else { return false }
        do {
            _ = try await with(socket: socket) { client in
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
            self.init(.daemonUnavailable, "the sonde daemon at \(socket) did not answer: \(error.message)",
                      hint: "is `sonde daemon` running? (`sonde daemon status`)")
        case .notFound:
            self.init(.notFound, error.message)
        case .invalidArgument:
            self.init(.invalidArgument, error.message)
        case .failedPrecondition:
            self.init(.malformedInput, error.message)
        case .permissionDenied, .unauthenticated:
            self.init(.notPrivileged, error.message)
        case .unimplemented:
            self.init(.invalidArgument, "the sonde daemon at \(socket) does not know this call (an older daemon?): \(error.message)")
        default:
            self.init(.system, "sonde daemon: \(error.message)")
        }
    }
}
