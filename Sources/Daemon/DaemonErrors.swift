import GRPCCore
import LinuxKit

extension RPCError {
    /// sonde's error codes as gRPC status codes: the one place the daemon maps them (the client maps
    /// them back in DaemonAPI). The message keeps the hint, which is what a user acts on.
    init(_ error: SondeError) {
        let code: RPCError.Code
        switch error.code {
        case .notFound: code = .notFound
        case .invalidArgument: code = .invalidArgument
        case .malformedInput: code = .failedPrecondition
        case .notPrivileged: code = .permissionDenied
        case .resourceExhausted: code = .resourceExhausted
        case .kernelFeatureMissing, .bpfLoadFailed, .bpfAttachFailed: code = .failedPrecondition
        default: code = .internalError
        }
        self.init(code: code, message: error.description)
    }
}

/// Runs a handler's body; SondeErrors become their gRPC status, anything else an internal error
/// with its description (never a crash of the daemon).
func answering<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as SondeError {
        throw RPCError(error)
    } catch let error as RPCError {
        throw error
    } catch is CancellationError {
        throw RPCError(code: .cancelled, message: "cancelled")
    } catch {
        throw RPCError(code: .internalError, message: "\(error)")
    }
}
