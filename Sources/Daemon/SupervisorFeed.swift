import Events
import Foundation
import LinuxKit
import Supervisor
import Synchronization

/// Hands every decision of the daemon's seccomp agent to the WatchSupervisor clients subscribed now.
///
/// `publish` runs on the agent's session threads, between answering a call and taking the next
/// one, so it must never wait for a client: each subscriber has its own bounded buffer, and what a
/// slow (or vanished) client makes overflow is counted for that client alone.
public final class SupervisorFeed: Sendable {
    public enum Item: Sendable {
        case event(Event)
        /// A wake-up for the server loop (periodic loss check, timeout); never counted as lost.
        case tick
    }

    /// One client's view: its stream and what it lost.
    public final class Subscription: Sendable {
        public let items: AsyncStream<Item>
        let continuation: AsyncStream<Item>.Continuation
        private let dropped = Mutex<UInt64>(0)
        private let tickPending = Mutex(false)
        private let feed: SupervisorFeed
        let id: Int

        init(feed: SupervisorFeed, id: Int, capacity: Int) {
            self.feed = feed
            self.id = id
            (items, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingOldest(capacity))
        }

        /// Events that did not fit in this client's buffer.
        public var lost: UInt64 { dropped.withLock { $0 } }

        func deliver(_ event: Event) {
            if case .dropped = continuation.yield(.event(event)) { dropped.withLock { $0 += 1 } }
        }

        /// Wakes the reader; at most one tick waits in the buffer, so a stalled client's buffer
        /// fills with decisions, not with ticks.
        public func tick() {
            guard !tickPending.withLock({ let was = $0; $0 = true; return was }) else { return }
            continuation.yield(.tick)
        }

        /// The reader took a tick.
        public func tickTaken() { tickPending.withLock { $0 = false } }

        /// Ends the stream (the client's loop ends after what is buffered).
        public func finish() { continuation.finish() }

        /// Stops delivering to this client; idempotent.
        public func cancel() {
            continuation.finish()
            feed.remove(id)
        }
    }

    private let subscribers = Mutex<(next: Int, all: [Int: Subscription])>((0, [:]))
    /// Events per client buffer: enough for a burst of a few seconds of a busy agent.
    public let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    public func subscribe() -> Subscription {
        subscribers.withLock { state in
            let subscription = Subscription(feed: self, id: state.next, capacity: capacity)
            state.all[state.next] = subscription
            state.next += 1
            // A client that goes away (its stream is dropped or cancelled) stops receiving at once.
            subscription.continuation.onTermination = { [weak self] _ in self?.remove(subscription.id) }
            return subscription
        }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.all.count } }

    /// The agent's sink (Supervisor's onEvent). Never blocks.
    public func publish(_ event: Event) {
        let current = subscribers.withLock { Array($0.all.values) }
        for subscription in current { subscription.deliver(event) }
    }

    func remove(_ id: Int) {
        _ = subscribers.withLock { $0.all.removeValue(forKey: id) }
    }
}

/// The daemon's seccomp agent (config key "supervise"): the same Supervisor `sonde supervise` runs,
/// with its decisions going to a SupervisorFeed instead of stdout.
public final class DaemonSupervisor: Sendable {
    public let settings: DaemonConfig.SuperviseSettings
    public let supervisor: Supervisor
    public let feed: SupervisorFeed
    let notice: @Sendable (String) -> Void

    init(settings: DaemonConfig.SuperviseSettings, notice: @escaping @Sendable (String) -> Void) throws(SondeError) {
        self.settings = settings
        self.notice = notice
        let feed = SupervisorFeed()
        self.feed = feed
        supervisor = Supervisor(policy: try Policy.load(path: settings.policy), policyPath: settings.policy,
                                log: { notice("supervise: " + $0) }, onEvent: { feed.publish($0) },
                                handsOver: false)
    }

    /// Starts serving runtimes on the socket, on a thread of its own (the agent's loop blocks), and
    /// returns once it listens; an error binding the socket is thrown here. The agent then runs until
    /// the process ends: its containers' notify fds die with it (README, "Restarting the agent").
    func start() async throws(SondeError) {
        let supervisor = self.supervisor
        let socket = settings.socket
        let notice = self.notice
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, SondeError>, Never>) in
            let answered = Counter()
            /// Resumes the caller once: with the listening socket, or with the error that prevented it.
            @Sendable func answer(_ value: Result<Void, SondeError>) -> Bool {
                guard answered.increment() == 1 else { return false }
                continuation.resume(returning: value)
                return true
            }
            let thread = Thread {
                do throws(SondeError) {
                    try supervisor.serve(socketPath: socket) { _ = answer(.success(())) }
                } catch {
                    if !answer(.failure(error)) {
                        // It listened, then its accept loop failed: running containers keep their
                        // fds, new ones can no longer reach the agent.
                        notice("supervise: stopped accepting runtimes on \(socket): \(error)")
                    }
                }
            }
            thread.name = "supervise accept"
            thread.start()
        }
        try result.get()
        supervisor.watchPolicyFile()
    }
}
