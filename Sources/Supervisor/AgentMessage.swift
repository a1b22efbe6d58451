import Foundation
import LinuxKit

/// The message an OCI runtime sends to a seccomp agent (runc and crun, `linux.seccomp.listenerPath`):
/// JSON naming the fds it carries, plus the fds themselves (SCM_RIGHTS). runc sends, on one line,
/// `{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":14211,"metadata":"...","state":{"id":...,"pid":...,"bundle":...}}`;
/// crun the same shape pretty-printed.
public struct AgentMessage: Sendable, Equatable {
    public var ociVersion: String
    /// Index of the seccomp notify fd among the fds that came with the message.
    public var seccompFDIndex: Int
    public var fdCount: Int
    public var pid: Int32
    public var identity: ContainerIdentity

    /// Validates the JSON against the fds that actually arrived. Any mismatch is an error: acting on a
    /// wrong fd would supervise (or starve) the wrong process.
    public static func parse(_ data: Data, receivedFDs: Int) throws(SondeError) -> AgentMessage {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw SondeError(.malformedInput, "agent message: \(error.message)")
        }
        guard case .object = json else { throw SondeError(.malformedInput, "agent message: not a JSON object") }
        guard case .array(let names)? = json["fds"] else {
            throw SondeError(.malformedInput, "agent message: no \"fds\" list")
        }
        let fdNames = names.compactMap(\.string)
        guard fdNames.count == names.count else { throw SondeError(.malformedInput, "agent message: \"fds\" must list strings") }
        guard let index = fdNames.firstIndex(of: "seccompFd") else {
            throw SondeError(.malformedInput, "agent message: \"fds\" does not name a seccompFd (got \(fdNames))")
        }
        guard receivedFDs == fdNames.count else {
            throw SondeError(.malformedInput, "agent message names \(fdNames.count) fd(s) but \(receivedFDs) came with it")
        }
        guard let state = json["state"], case .object = state else {
            throw SondeError(.malformedInput, "agent message: no \"state\" object")
        }
        guard let id = state["id"]?.string, !id.isEmpty else {
            throw SondeError(.malformedInput, "agent message: state has no container \"id\"")
        }
        // The top-level pid is the process whose filter this is; state.pid is the container's init.
        guard let pid = (json["pid"] ?? state["pid"])?.integer, pid > 0, pid <= Int64(Int32.max) else {
            throw SondeError(.malformedInput, "agent message: no valid \"pid\"")
        }
        var metadata = ""
        if let value = json["metadata"] {
            guard let text = value.string else { throw SondeError(.malformedInput, "agent message: \"metadata\" must be a string") }
            metadata = text
        }
        let identity = ContainerIdentity(id: id, metadata: metadata, annotations: state["annotations"]?.stringMap ?? [:],
                                         bundle: state["bundle"]?.string)
        return AgentMessage(ociVersion: json["ociVersion"]?.string ?? "", seccompFDIndex: index, fdCount: fdNames.count,
                            pid: Int32(pid), identity: identity)
    }
}
