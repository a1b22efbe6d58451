#if canImport(Glibc)
import Glibc
#endif
import CSonde
import Dispatch
import Foundation
import LinuxKit

/// Restarting the agent without losing its containers: a new agent started with `--takeover`
/// connects to the running agent's socket and asks for everything it holds - the listening socket
/// and every container's notify fd - then serves them. The kernel keeps a notify fd's pending and
/// future notifications for whoever holds the file, so nothing is lost as long as no notification
/// is left received-but-unanswered by the old agent: it stops each session thread between two calls
/// before handing over, and stops accepting before passing the listener (runtimes that connect
/// meanwhile wait in the listen backlog).
///
/// Protocol: the new agent sends `{"sondeTakeover":1}` on the agent socket (root only, mode 0600);
/// the old agent answers with one end of a SOCK_SEQPACKET socketpair (SCM_RIGHTS), then on it one
/// record per message - `{"kind":"listener"}` + fd, `{"kind":"session","id":...,"pid":...}` + fd
/// per container, `{"kind":"done","count":N}` - waits for a one-byte acknowledgement, and exits.
public enum Takeover {
    static let request = Data(#"{"sondeTakeover":1}"#.utf8)

    static func isRequest(_ data: Data) -> Bool {
        if case .object(let object) = (try? JSONValue.parse(data)) ?? .null { return object["sondeTakeover"] != nil }
        return false
    }

    static func send(_ socket: Int32, _ fields: [String: JSONValue], fd: Int32?) -> Bool {
        let bytes = Array(JSONValue.object(fields).data())
        let fds = fd.map { [$0] } ?? []
        return bytes.withUnsafeBytes { raw in
            fds.withUnsafeBufferPointer { sonde_send_with_fds(socket, raw.baseAddress, raw.count, $0.baseAddress, Int32(fds.count)) }
        } == bytes.count
    }

    static func receive(_ socket: Int32) -> (json: JSONValue, fd: Int32?)? {
        guard let message = HelperChannel.receive(socket, capacity: 1 << 16, maxFDs: 2) else { return nil }
        guard message.fds.count <= 1, let json = try? JSONValue.parse(Data(message.bytes)) else {
            for fd in message.fds { close(fd) }
            return nil
        }
        return (json, message.fds.first)
    }
}

extension Supervisor {
    /// The old agent's side. Ends the process once the successor has everything.
    func handOver(to connection: Int32) -> Never {
        log("a successor agent asked to take over; handing over")
        // 1. Stop accepting; let runtime connections already accepted finish (they adopt their fd).
        var one: UInt64 = 1
        _ = write(acceptWake, &one, 8)
        _ = acceptStopped.wait(timeout: .now() + 5)
        let deadline = Date().addingTimeInterval(7)
        while pendingConnections > 1 && Date() < deadline { usleep(10_000) }
        // 2. Stop every session between two calls.
        let sessions = allSessions
        for session in sessions {
            _ = write(session.wake, &one, 8)
            if session.paused.wait(timeout: .now() + 30) == .timedOut {
                log("container \(session.identity.id): its session did not stop within 30 s; handing it over anyway")
            }
        }
        // 3. Everything over a message-preserving channel.
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            log("handover failed (socketpair: \(Errno.current)); exiting: running containers' calls now fail with ENOSYS")
            exit(1)
        }
        var byte: UInt8 = 0x2a
        var channelEnd = [pair[1]]
        _ = sonde_send_with_fds(connection, &byte, 1, &channelEnd, 1)
        close(pair[1])
        let channel = pair[0]
        var sent = 0
        var ok = Takeover.send(channel, ["kind": "listener"], fd: currentListener)
        for session in sessions where ok {
            let identity = session.identity
            var fields: [String: JSONValue] = ["kind": "session", "id": .string(identity.id), "metadata": .string(identity.metadata),
                                               "annotations": .object(identity.annotations.mapValues(JSONValue.string)),
                                               "pid": JSONValue(session.pid)]
            if let bundle = identity.bundle { fields["bundle"] = .string(bundle) }
            ok = Takeover.send(channel, fields, fd: session.notify.raw)
            if ok { sent += 1 }
        }
        ok = ok && Takeover.send(channel, ["kind": "done", "count": JSONValue(sent)], fd: nil)
        // 4. Wait for the successor to confirm it holds them: fds still in flight would die with us
        //    only if its end closed too, but the log line should be true.
        var ack: UInt8 = 0
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(channel, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let confirmed = ok && recv(channel, &ack, 1, 0) == 1
        log(confirmed ? "handed over \(sent) containers and the socket; exiting"
                      : "handover incomplete (\(sent) of \(sessions.count) containers sent, no confirmation); exiting")
        exit(confirmed ? 0 : 1)
    }

    /// The new agent's side: takes the listening socket and every container from the agent serving
    /// `path`. Returns the listener to serve on.
    public func takeOver(socketPath path: String) throws(SondeError) -> Int32 {
        try NotifyFD.checkKernelSizes()
        let connection = try systemCall("socket(AF_UNIX)") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(connection) }
        let address = try UnixSocketAddress(path)
        do throws(SondeError) {
            try systemCall("connect \(path)") { address.withSockaddr { connect(connection, $0, $1) } }
        } catch {
            throw SondeError(.notFound, "no agent to take over on \(path)", hint: "start without --takeover", errno: error.errno)
        }
        _ = Takeover.request.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // The old agent first finishes what it is doing (up to its 30 s session deadline).
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let handed = HelperChannel.receive(connection, capacity: 1, maxFDs: 1), handed.fds.count == 1 else {
            throw SondeError(.malformedInput, "the agent on \(path) did not hand over (is it a sonde agent?)")
        }
        let channel = handed.fds[0]
        defer { close(channel) }
        var listener: Int32?
        var adopted = 0
        while let (json, fd) = Takeover.receive(channel) {
            switch json["kind"]?.string {
            case "listener"?:
                listener = fd
            case "session"? where fd != nil:
                guard let id = json["id"]?.string, let pid = json["pid"]?.integer else { close(fd!); continue }
                let identity = ContainerIdentity(id: id, metadata: json["metadata"]?.string ?? "",
                                                 annotations: json["annotations"]?.stringMap ?? [:], bundle: json["bundle"]?.string)
                adopt(notifyFD: fd!, identity: identity, pid: Int32(truncatingIfNeeded: pid))
                adopted += 1
            case "done"?:
                var ack: UInt8 = 1
                _ = Glibc.send(channel, &ack, 1, Int32(MSG_NOSIGNAL))
                guard let listener else { throw SondeError(.malformedInput, "the previous agent sent no listening socket") }
                log("took over \(adopted) containers and \(path) from the previous agent")
                return listener
            default:
                if let fd { close(fd) }
            }
        }
        if let listener { close(listener) }
        throw SondeError(.malformedInput, "the handover from the agent on \(path) broke off after \(adopted) containers")
    }
}
