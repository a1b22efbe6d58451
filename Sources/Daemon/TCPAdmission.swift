import Foundation
import GRPCNIOTransportHTTP2Posix
import LinuxKit
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Which TCP connections the daemon holds: at most `total` (and a share of the descriptors it may
/// open), at most `perPeer` from one remote address, and none that has not finished its TLS
/// handshake within `handshakeTimeout`. The newest connection over a limit is closed at once; the
/// unix socket, the recorder and the seccomp agent keep their descriptors whatever TCP peers do.
final class TCPAdmission: Sendable {
    let total: Int
    let perPeer: Int
    let handshakeTimeout: TimeAmount
    private let notice: @Sendable (String) -> Void
    private let state = Mutex(State())

    private struct State {
        var open = 0
        var byPeer: [String: Int] = [:]
        /// Refused since the last notice, which is said at most every 10 s (a flood must not flood the log).
        var refused = 0
        var lastNotice: ContinuousClock.Instant?
        var timedOut = 0
    }

    init(limits: DaemonConfig.TCPLimits, openFileLimit: UInt64, notice: @escaping @Sendable (String) -> Void) {
        // Half the descriptors at most: the rest is the recorder's, the gadgets', the agent's.
        total = max(1, min(limits.connections, Int(min(openFileLimit, 1 << 20) / 2)))
        perPeer = max(1, min(limits.connectionsPerPeer, total))
        handshakeTimeout = .milliseconds(Int64(limits.handshakeTimeoutSeconds * 1000))
        self.notice = notice
    }

    var openConnections: Int { state.withLock { $0.open } }

    /// The transport's callback for each accepted connection (after its TLS handler is in place).
    /// Never fails: a failed initializer would reach the listener, which must go on accepting.
    func admit(_ channel: any Channel) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        let admitted = state.withLock { state -> Bool in
            guard state.open < total, state.byPeer[peer, default: 0] < perPeer else {
                state.refused += 1
                return false
            }
            state.open += 1
            state.byPeer[peer, default: 0] += 1
            return true
        }
        guard admitted else {
            reportRefusals(peer: peer)
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CloseWhenActive(), position: .first)
            }
        }
        channel.closeFuture.whenComplete { [self] _ in
            state.withLock { state in
                state.open -= 1
                state.byPeer[peer, default: 1] -= 1
                if state.byPeer[peer] == 0 { state.byPeer[peer] = nil }
            }
        }
        return channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            let timer = HandshakeTimer(timeout: handshakeTimeout) { [self] in
                state.withLock { $0.timedOut += 1 }
            }
            if let tls = try? operations.handler(type: NIOSSLServerHandler.self) {
                try operations.addHandler(timer, position: .after(tls))
            } else {
                try operations.addHandler(timer, position: .first)
            }
        }
    }

    private func reportRefusals(peer: String) {
        let report = state.withLock { state -> (refused: Int, open: Int, timedOut: Int)? in
            let now = ContinuousClock.now
            if let last = state.lastNotice, now - last < .seconds(10) { return nil }
            state.lastNotice = now
            defer { state.refused = 0 }
            return (state.refused, state.open, state.timedOut)
        }
        guard let report else { return }
        notice("tcp: refused \(report.refused) connection(s), the newest from \(peer): limits are \(total) connections "
               + "(\(report.open) open) and \(perPeer) per peer address; \(report.timedOut) closed so far for no TLS handshake "
               + "within \(handshakeTimeout.nanoseconds / 1_000_000) ms")
    }
}

/// Closes a connection over a limit as soon as it is active (it is not yet when admitted).
private final class CloseWhenActive: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}

/// Closes the connection unless its TLS handshake completes within `timeout`: a peer that never
/// sends a ClientHello (or stalls in the middle) holds a descriptor only that long.
private final class HandshakeTimer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let timeout: TimeAmount
    let onTimeout: @Sendable () -> Void
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let onTimeout = self.onTimeout
        timer = context.eventLoop.scheduleTask(in: timeout) {
            onTimeout()
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            timer?.cancel()
            timer = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}
