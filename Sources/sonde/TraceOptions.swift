import ArgumentParser

/// Flags every `sonde trace` gadget shares: how events are shown, and for how long.
struct TraceOptions: ParsableArguments {
    @OptionGroup var rows: RowOptions

    @Option(help: "Stop after this many seconds.")
    var timeout: Double?

    func validate() throws {
        try Seconds.check(timeout, "--timeout")
    }
}
