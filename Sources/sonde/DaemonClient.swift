import ArgumentParser
import DaemonAPI
import LinuxKit

/// How a command reaches the daemon. Commands that can ask the daemon do so when it answers;
/// otherwise (or with --no-daemon) they do the work themselves, as before. With --daemon-address
/// they ask a daemon over TCP with mutual TLS, and a daemon that does not answer is an error.
struct DaemonOptions: ParsableArguments {
    @Option(name: .customLong("daemon-socket"), help: "The sonde daemon's socket, asked when it answers.")
    var socket = DaemonClient.defaultSocket

    @Option(name: .customLong("daemon-address"), help: "A sonde daemon's TCP address (HOST:PORT), reached with mutual TLS (--tls-cert, --tls-key, --tls-ca).")
    var address: String?

    @Option(help: "This client's certificate (PEM), for --daemon-address.")
    var tlsCert: String?

    @Option(help: "This client's private key (PEM), for --daemon-address.")
    var tlsKey: String?

    @Option(help: "The CA that signed the daemon's certificate (PEM), for --daemon-address.")
    var tlsCa: String?

    @Flag(help: "Do not ask a running sonde daemon; read the state directly.")
    var noDaemon = false

    func validate() throws {
        if address != nil {
            guard tlsCert != nil, tlsKey != nil, tlsCa != nil else {
                throw ValidationError("--daemon-address needs --tls-cert, --tls-key and --tls-ca (the TCP API takes mutual TLS only)")
            }
            if noDaemon { throw ValidationError("--daemon-address and --no-daemon exclude each other") }
            if parsedEndpoint == nil { throw ValidationError("--daemon-address takes HOST:PORT") }
        }
    }

    /// The endpoint named on the command line (TCP), else the socket.
    var parsedEndpoint: DaemonEndpoint? {
        guard let address else { return .unix(socket) }
        guard let (host, port) = DaemonEndpoint.parseAddress(address), let tlsCert, let tlsKey, let tlsCa else { return nil }
        return .tcp(host: host, port: port, tls: .init(certificate: tlsCert, key: tlsKey, ca: tlsCa))
    }

    var endpoint: DaemonEndpoint { parsedEndpoint ?? .unix(socket) }

    /// The daemon to ask, or nil to work locally. A TCP address is always asked: its user wants
    /// that node's daemon, not this machine's state.
    func answeringEndpoint() async -> DaemonEndpoint? {
        guard !noDaemon else { return nil }
        if address != nil { return endpoint }
        return await DaemonClient.isAnswering(endpoint: endpoint, timeout: .seconds(2)) ? endpoint : nil
    }
}
