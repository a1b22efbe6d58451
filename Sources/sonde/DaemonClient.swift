import ArgumentParser
import CommandOptions
import DaemonAPI
import LinuxKit

/// Which daemon a client command asks: its unix socket, or a TCP address with mutual TLS.
struct DaemonConnection: ParsableArguments {
    @Option(name: .customLong("daemon-socket"), help: "The sonde daemon's socket.")
    var socket = DaemonClient.defaultSocket

    @Option(name: .customLong("daemon-address"), help: "A sonde daemon's TCP address (HOST:PORT), reached with mutual TLS (--tls-cert, --tls-key, --tls-ca).")
    var address: String?

    @OptionGroup var tls: TLSClientOptions

    func validate() throws {
        if let address {
            guard tls.files != nil else {
                throw ValidationError("--daemon-address needs --tls-cert, --tls-key and --tls-ca (the TCP API takes mutual TLS only)")
            }
            if DaemonEndpoint.parseAddress(address) == nil { throw ValidationError("--daemon-address takes HOST:PORT") }
        }
    }

    /// The TCP address with its TLS files when given, else the socket.
    var endpoint: DaemonEndpoint {
        guard let address, let (host, port) = DaemonEndpoint.parseAddress(address), let files = tls.files else { return .unix(socket) }
        return .tcp(host: host, port: port, tls: .init(certificate: files.certificate, key: files.key, ca: files.ca))
    }
}

/// How a command that can also work alone reaches the daemon: it asks the daemon when it answers,
/// otherwise (or with --no-daemon) it does the work itself. With --daemon-address it asks that
/// daemon over TCP, and a daemon that does not answer is an error.
struct DaemonOptions: ParsableArguments {
    @OptionGroup var connection: DaemonConnection

    @Flag(help: "Do not ask a running sonde daemon; read the state directly.")
    var noDaemon = false

    func validate() throws {
        if connection.address != nil && noDaemon { throw ValidationError("--daemon-address and --no-daemon exclude each other") }
    }

    /// The daemon to ask, or nil to work locally. A TCP address is always asked: its user wants
    /// that node's daemon, not this machine's state.
    func answeringEndpoint() async -> DaemonEndpoint? {
        guard !noDaemon else { return nil }
        let endpoint = connection.endpoint
        if connection.address != nil { return endpoint }
        return await DaemonClient.isAnswering(endpoint: endpoint, timeout: .seconds(2)) ? endpoint : nil
    }
}
