import ArgumentParser
import DaemonAPI
import LinuxKit

/// How a command reaches the daemon. Commands that can ask the daemon do so when its socket exists
/// and it answers; otherwise (or with --no-daemon) they do the work themselves, as before.
struct DaemonOptions: ParsableArguments {
    @Option(name: .customLong("daemon-socket"), help: "The sonde daemon's socket, asked when it answers.")
    var socket = DaemonClient.defaultSocket

    @Flag(help: "Do not ask a running sonde daemon; read the state directly.")
    var noDaemon = false

    /// The socket to use, or nil to work locally.
    func answeringSocket() async -> String? {
        guard !noDaemon else { return nil }
        return await DaemonClient.isAnswering(socket: socket, timeout: .seconds(2)) ? socket : nil
    }
}
