import ArgumentParser

/// A client's side of mutual TLS with sonde daemons: `sonde --daemon-address` and `kubectl sonde`.
public struct TLSClientOptions: ParsableArguments {
    @Option(help: "This client's certificate (PEM).")
    public var tlsCert: String?

    @Option(help: "This client's private key (PEM).")
    public var tlsKey: String?

    @Option(help: "The CA that signed the daemons' certificates (PEM).")
    public var tlsCa: String?

    public init() {}

    /// All three, or nil when any is missing.
    public var files: (certificate: String, key: String, ca: String)? {
        guard let tlsCert, let tlsKey, let tlsCa else { return nil }
        return (tlsCert, tlsKey, tlsCa)
    }
}
