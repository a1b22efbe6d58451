import Containers
import DaemonAPI
import Foundation
import LinuxKit
import Recorder

/// Which containers: every non-empty list must match (names OR'ed within a list), as the CLI's
/// selection flags, plus labels and pod namespaces.
public struct DaemonSelection: Sendable, Equatable {
    public var selector: ContainerSelector
    /// Each pair must be among the container's labels or its pod's.
    public var labels: [String: String]
    public var podNamespaces: [String]

    public init(selector: ContainerSelector = ContainerSelector(), labels: [String: String] = [:], podNamespaces: [String] = []) {
        self.selector = selector
        self.labels = labels
        self.podNamespaces = podNamespaces
    }

    public init(_ message: Sonde_V1_Selector, cgroups: CgroupV2) throws(SondeError) {
        for name in message.runtimes where !RuntimeName.allCases.map(\.rawValue).contains(name) {
            throw SondeError(.invalidArgument, "unknown runtime '\(name)'",
                             hint: "known: " + RuntimeName.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var paths: [String] = []
        for path in message.cgroupPaths { paths.append(try cgroups.normalize(path)) }
        self.init(selector: ContainerSelector(names: message.names, runtimes: message.runtimes.map(RuntimeName.init(rawValue:)),
                                              cgroupPaths: paths, host: message.host),
                  labels: message.labels, podNamespaces: message.podNamespaces)
    }

    public func matches(_ container: Container) -> Bool {
        guard selector.matches(container) else { return false }
        if !podNamespaces.isEmpty && !podNamespaces.contains(container.pod?.namespace ?? "\0") { return false }
        for (key, value) in labels where container.labels[key] != value && container.pod?.labels[key] != value {
            return false
        }
        return true
    }

    public var summary: String {
        var parts: [String] = []
        if !selector.names.isEmpty { parts.append("names " + selector.names.joined(separator: ",")) }
        if !selector.runtimes.isEmpty { parts.append("runtimes " + selector.runtimes.map(\.rawValue).joined(separator: ",")) }
        if !selector.cgroupPaths.isEmpty { parts.append("cgroups " + selector.cgroupPaths.joined(separator: ",")) }
        if !labels.isEmpty { parts.append("labels " + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")) }
        if !podNamespaces.isEmpty { parts.append("pod namespaces " + podNamespaces.joined(separator: ",")) }
        return parts.isEmpty ? "every container" : parts.joined(separator: "; ")
    }
}

/// The daemon's configuration: a JSON file (`sonde daemon --config FILE`), every key optional.
/// Unknown keys are errors, so that a typo does not silently record everything. See README.md,
/// "Node daemon", for the format.
public struct DaemonConfig: Sendable {
    public var socket = DaemonClient.defaultSocket
    /// Where the daemon keeps the containers hooks registered, so a restarted daemon knows them.
    public var stateDirectory = "/run/sonde/daemon"

    // The flight recorder.
    public var recordEnabled = true
    public var recordSelection = DaemonSelection()
    public var crashDirectory: String? = "/var/lib/sonde/crash"
    public var retentionSeconds = 3600
    public var recorder = RecorderSettings()

    // Where runtimes keep their state.
    public var runcRoot = "/run/runc"
    public var containerdAddress = "/run/containerd/containerd.sock"
    public var containerdRuncRoot = "/run/containerd/runc"

    /// How often the daemon lists every runtime again although no event said anything changed: the
    /// safety net under inotify, containerd's events, the kernel's cgroup notices and the hooks.
    public var reconcileSeconds = 60

    /// The self-cost report (`bpfStats`): the kernel's run statistics of sonde's programs, turned on
    /// for `window` once every `every` (see BPFCostSampler for why only a window).
    public var bpfStats = BPFCostSampler.Settings()

    /// Optional: the API on TCP too, with mutual TLS only (a node's unix socket needs no TLS; a
    /// network port without client certificates would give anyone the node's syscalls).
    public var tcp: TCPListener?

    /// Optional: the daemon also runs the seccomp agent (`sonde supervise`) on this socket with this
    /// policy, and streams its decisions (WatchSupervisor).
    public var supervise: SuperviseSettings?

    /// Optional: the Prometheus endpoint (GET /metrics over plain HTTP) on this host and port;
    /// port 0 picks a free one. See README.md, "Metrics".
    public var metrics: MetricsListener?

    public struct MetricsListener: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// `sonde_syscall_latency_seconds`: the kernel times every counted call, two clock reads
        /// that cost more than the counting itself (docs/cost.md). Off by default, as in syscount.
        public var syscallLatency: Bool

        public init(host: String, port: Int, syscallLatency: Bool = false) {
            self.host = host
            self.port = port
            self.syscallLatency = syscallLatency
        }
    }

    public struct SuperviseSettings: Sendable, Equatable {
        /// The agent's unix socket: the containers' config.json `linux.seccomp.listenerPath`.
        public var socket: String
        /// The policy file (README, "Syscall supervisor"); re-read when it changes.
        public var policy: String

        public init(socket: String, policy: String) {
            self.socket = socket
            self.policy = policy
        }
    }

    public struct TCPListener: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// PEM files: the daemon's certificate chain and key, and the CA whose clients it accepts.
        public var certificate: String
        public var key: String
        public var clientCA: String
        /// Who may read what (`tcp.clients`); a certificate no rule names may do nothing.
        public var clients: [ClientRule]
        public var limits: TCPLimits

        public init(host: String, port: Int, certificate: String, key: String, clientCA: String,
                    clients: [ClientRule] = [], limits: TCPLimits = TCPLimits()) {
            self.host = host
            self.port = port
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
            self.clients = clients
            self.limits = limits
        }
    }

    /// What TCP peers may hold (`tcp.limits`): they are hostile until their certificate is checked.
    public struct TCPLimits: Sendable, Equatable {
        /// From accepting a connection to a finished TLS handshake.
        public var handshakeTimeoutSeconds = 10.0
        /// A connection without calls this long is closed.
        public var idleTimeoutSeconds = 300.0
        /// Connections at once (at most half the descriptors the daemon may open).
        public var connections = 256
        /// Connections at once from one remote address.
        public var connectionsPerPeer = 16
        /// Streams at once (DumpRecorder, RunGadget, WatchSupervisor) per client identity.
        public var streamsPerClient = 8

        public init() {}
    }

    public init() {}

    public static func load(path: String) throws(SondeError) -> DaemonConfig {
        try parse(try Files.readData(path), source: path)
    }

    public static func parse(_ data: Data, source: String = "config") throws(SondeError) -> DaemonConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch {
            throw SondeError(.malformedInput, "\(source) is not JSON (\(error.message))")
        }
        var config = DaemonConfig()
        let top = try Object(root, path: source)
        try top.allow(["socket", "stateDirectory", "record", "runtimes", "tcp", "supervise", "metrics", "reconcileSeconds", "bpfStats"])
        config.reconcileSeconds = try top.int("reconcileSeconds", in: 1...86400) ?? config.reconcileSeconds
        config.socket = try top.string("socket") ?? config.socket
        config.stateDirectory = try top.string("stateDirectory") ?? config.stateDirectory
        if let record = try top.object("record") {
            try record.allow(["enabled", "select", "crashDirectory", "retentionSeconds", "bufferSize", "bufferCapture",
                              "pool", "keyByMountNamespace", "pinDirectory", "stateDirectory"])
            config.recordEnabled = try record.bool("enabled") ?? true
            if let select = try record.object("select") {
                try select.allow(["names", "runtimes", "cgroupPaths", "labels", "podNamespaces"])
                let runtimes = try select.strings("runtimes") ?? []
                for name in runtimes where !RuntimeName.allCases.map(\.rawValue).contains(name) {
                    throw SondeError(.invalidArgument, "\(select.path).runtimes: unknown runtime '\(name)'",
                                     hint: "known: " + RuntimeName.allCases.map(\.rawValue).joined(separator: ", "))
                }
                config.recordSelection = DaemonSelection(
                    selector: ContainerSelector(names: try select.strings("names") ?? [],
                                                runtimes: runtimes.map(RuntimeName.init(rawValue:)),
                                                cgroupPaths: try select.strings("cgroupPaths") ?? []),
                    labels: try select.stringMap("labels") ?? [:],
                    podNamespaces: try select.strings("podNamespaces") ?? [])
            }
            if record.has("crashDirectory") { config.crashDirectory = try record.string("crashDirectory") }
            config.retentionSeconds = try record.int("retentionSeconds", in: 1...(365 * 86400)) ?? config.retentionSeconds
            if let size = try record.string("bufferSize") {
                guard let bytes = parseSize(size), (64 << 10)...(16 << 20) ~= bytes else {
                    throw SondeError(.invalidArgument, "\(record.path).bufferSize: '\(size)' is not a size from 64K to 16M")
                }
                config.recorder.bytesPerCPU = bytes
            }
            config.recorder.bufferCapture = UInt32(try record.int("bufferCapture", in: 0...1024) ?? Int(config.recorder.bufferCapture))
            config.recorder.poolSize = try record.int("pool", in: 1...256) ?? config.recorder.poolSize
            config.recorder.keyByMountNamespace = try record.bool("keyByMountNamespace") ?? false
            config.recorder.pinDirectory = try record.string("pinDirectory") ?? config.recorder.pinDirectory
            config.recorder.stateDirectory = try record.string("stateDirectory") ?? config.recorder.stateDirectory
        }
        if let tcp = try top.object("tcp") {
            try tcp.allow(["address", "certificate", "key", "clientCA", "clients", "limits"])
            func required(_ key: String) throws(SondeError) -> String {
                guard let value = try tcp.string(key), !value.isEmpty else {
                    throw SondeError(.invalidArgument, "\(tcp.path).\(key) is required: the TCP API takes mutual TLS only")
                }
                return value
            }
            let address = try required("address")
            guard let (host, port) = DaemonEndpoint.parseAddress(address) else {
                throw SondeError(.invalidArgument, "\(tcp.path).address: '\(address)' is not HOST:PORT")
            }
            config.tcp = TCPListener(host: host, port: port, certificate: try required("certificate"),
                                     key: try required("key"), clientCA: try required("clientCA"),
                                     clients: try clientRules(tcp), limits: try tcpLimits(tcp))
        }
        if let supervise = try top.object("supervise") {
            try supervise.allow(["socket", "policy"])
            guard let socket = try supervise.string("socket"), !socket.isEmpty,
                  let policy = try supervise.string("policy"), !policy.isEmpty else {
                throw SondeError(.invalidArgument, "\(supervise.path) needs both socket (the containers' listenerPath) and policy")
            }
            guard socket != config.socket else {
                throw SondeError(.invalidArgument, "\(supervise.path).socket must differ from the API's socket \(config.socket)")
            }
            config.supervise = SuperviseSettings(socket: socket, policy: policy)
        }
        if let metrics = try top.object("metrics") {
            try metrics.allow(["address", "syscallLatency"])
            let address = try metrics.string("address") ?? "127.0.0.1:9464"
            guard let (host, port) = metricsAddress(address) else {
                throw SondeError(.invalidArgument, "\(metrics.path).address: '\(address)' is not HOST:PORT")
            }
            config.metrics = MetricsListener(host: host, port: port, syscallLatency: try metrics.bool("syscallLatency") ?? false)
        }
        if let stats = try top.object("bpfStats") {
            try stats.allow(["windowSeconds", "everySeconds"])
            let window = try stats.seconds("windowSeconds", in: 0...3600) ?? 1
            let every = try stats.seconds("everySeconds", in: 0.1...86400) ?? 60
            guard window < every || window == 0 else {
                throw SondeError(.invalidArgument, "\(stats.path).windowSeconds (\(window)) must be shorter than everySeconds (\(every))")
            }
            config.bpfStats = BPFCostSampler.Settings(window: .milliseconds(Int64(window * 1000)), every: .milliseconds(Int64(every * 1000)))
        }
        if let runtimes = try top.object("runtimes") {
            try runtimes.allow(["runcRoot", "containerdAddress", "containerdRuncRoot"])
            config.runcRoot = try runtimes.string("runcRoot") ?? config.runcRoot
            config.containerdAddress = try runtimes.string("containerdAddress") ?? config.containerdAddress
            config.containerdRuncRoot = try runtimes.string("containerdRuncRoot") ?? config.containerdRuncRoot
        }
        return config
    }

    /// `tcp.clients`: [{"user" or "group": NAME, "podNamespaces": [...], "wholeNode": BOOL, "impersonate": BOOL}].
    static func clientRules(_ tcp: Object) throws(SondeError) -> [ClientRule] {
        guard let raw = tcp.values["clients"], !raw.isNull else { return [] }
        guard let list = raw.array else { throw SondeError(.malformedInput, "\(tcp.path).clients: expected a list of objects") }
        var rules: [ClientRule] = []
        for (index, item) in list.enumerated() {
            let entry = try Object(item, path: "\(tcp.path).clients[\(index)]")
            try entry.allow(["user", "group", "podNamespaces", "wholeNode", "impersonate"])
            let subject: ClientRule.Subject
            switch (try entry.string("user"), try entry.string("group")) {
            case (let user?, nil) where !user.isEmpty: subject = .user(user)
            case (nil, let group?) where !group.isEmpty: subject = .group(group)
            default: throw SondeError(.invalidArgument, "\(entry.path) needs exactly one of user and group (the certificate's CN or O)")
            }
            let rule = ClientRule(subject: subject, podNamespaces: try entry.strings("podNamespaces") ?? [],
                                  wholeNode: try entry.bool("wholeNode") ?? false, impersonate: try entry.bool("impersonate") ?? false)
            if rule.podNamespaces.contains("") { throw SondeError(.invalidArgument, "\(entry.path).podNamespaces: an empty name") }
            guard !rule.podNamespaces.isEmpty || rule.wholeNode || rule.impersonate else {
                throw SondeError(.invalidArgument, "\(entry.path) grants nothing: give podNamespaces, wholeNode or impersonate")
            }
            rules.append(rule)
        }
        return rules
    }

    static func tcpLimits(_ tcp: Object) throws(SondeError) -> TCPLimits {
        var limits = TCPLimits()
        guard let object = try tcp.object("limits") else { return limits }
        try object.allow(["handshakeTimeoutSeconds", "idleTimeoutSeconds", "connections", "connectionsPerPeer", "streamsPerClient"])
        func seconds(_ key: String, _ value: Double) throws(SondeError) -> Double {
            guard let raw = object.values[key], !raw.isNull else { return value }
            guard let number = raw.number, number >= 0.1, number <= 86_400 else {
                throw SondeError(.invalidArgument, "\(object.path).\(key): expected seconds from 0.1 to 86400")
            }
            return number
        }
        limits.handshakeTimeoutSeconds = try seconds("handshakeTimeoutSeconds", limits.handshakeTimeoutSeconds)
        limits.idleTimeoutSeconds = try seconds("idleTimeoutSeconds", limits.idleTimeoutSeconds)
        limits.connections = try object.int("connections", in: 1...1_000_000) ?? limits.connections
        limits.connectionsPerPeer = try object.int("connectionsPerPeer", in: 1...1_000_000) ?? limits.connectionsPerPeer
        limits.streamsPerClient = try object.int("streamsPerClient", in: 1...10_000) ?? limits.streamsPerClient
        return limits
    }

    /// HOST:PORT, where port 0 (a free port, for tests) is allowed too.
    static func metricsAddress(_ text: String) -> (host: String, port: Int)? {
        if text.hasSuffix(":0"), let (host, _) = DaemonEndpoint.parseAddress(String(text.dropLast()) + "1") { return (host, 0) }
        return DaemonEndpoint.parseAddress(text)
    }

    /// 4096, 64K, 1M, 16MiB.
    static func parseSize(_ text: String) -> Int? {
        let upper = text.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let units: [(String, Int)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)]
        let (digits, scale) = units.first { upper.hasSuffix($0.0) }.map { (String(upper.dropLast()), $0.1) } ?? (upper, 1)
        guard let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }

    /// A JSON object of the configuration, with its path for messages (`config.record`).
    struct Object {
        let values: [String: JSONValue]
        let path: String

        init(_ value: JSONValue, path: String) throws(SondeError) {
            guard let values = value.object else { throw SondeError(.malformedInput, "\(path): expected an object") }
            self.values = values
            self.path = path
        }

        func allow(_ keys: Set<String>) throws(SondeError) {
            if let unknown = values.keys.sorted().first(where: { !keys.contains($0) }) {
                throw SondeError(.invalidArgument, "\(path): unknown key '\(unknown)'", hint: "known: " + keys.sorted().joined(separator: ", "))
            }
        }

        func has(_ key: String) -> Bool { values[key] != nil }

        /// The value at `key` read by `read`, nil when absent or null; a value of another type is an error.
        private func value<T>(_ key: String, _ what: String, _ read: (JSONValue) -> T?) throws(SondeError) -> T? {
            guard let raw = values[key], !raw.isNull else { return nil }
            guard let typed = read(raw) else { throw SondeError(.malformedInput, "\(path).\(key): expected \(what)") }
            return typed
        }

        func string(_ key: String) throws(SondeError) -> String? { try value(key, "a string", \.string) }

        func bool(_ key: String) throws(SondeError) -> Bool? { try value(key, "true or false", \.bool) }

        func int(_ key: String, in range: ClosedRange<Int>) throws(SondeError) -> Int? {
            guard let raw = values[key], !raw.isNull else { return nil }
            guard let number = raw.number, let value = Int(exactly: number), range.contains(value) else {
                throw SondeError(.invalidArgument, "\(path).\(key): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }

        /// A number of seconds (fractions allowed) within `range`.
        func seconds(_ key: String, in range: ClosedRange<Double>) throws(SondeError) -> Double? {
            guard let raw = values[key], !raw.isNull else { return nil }
            guard let number = raw.number, number.isFinite, range.contains(number) else {
                throw SondeError(.invalidArgument, "\(path).\(key): expected seconds from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }

        func strings(_ key: String) throws(SondeError) -> [String]? { try value(key, "a list of strings", \.strings) }
        func stringMap(_ key: String) throws(SondeError) -> [String: String]? { try value(key, "an object of strings", \.stringMap) }

        func object(_ key: String) throws(SondeError) -> Object? {
            guard let raw = values[key], !raw.isNull else { return nil }
            return try Object(raw, path: "\(path).\(key)")
        }
    }
}
