import Gadgets

/// The gadgets the daemon can run, by the name clients ask for. A new gadget plugs in with one
/// entry here (or `register` from outside); RunGadget needs nothing else.
public struct GadgetRegistry: Sendable {
    private var makers: [String: @Sendable () -> any Gadget] = [:]

    public init() {}

    /// Every gadget sonde ships.
    public static var builtin: GadgetRegistry {
        var registry = GadgetRegistry()
        // The streaming gadgets of `sonde trace` (top, snapshot and advise are not event streams).
        let makers: [@Sendable () -> any Gadget] = [
            { ExecGadget() }, { OpenGadget() }, { BindGadget() }, { SignalGadget() }, { CapabilitiesGadget() },
            { MountGadget() }, { OOMKillGadget() }, { TcpGadget() }, { PtraceGadget() },
        ]
        for make in makers { registry.register(make().name, make) }
        return registry
    }

    public mutating func register(_ name: String, _ make: @escaping @Sendable () -> any Gadget) {
        makers[name] = make
    }

    public func gadget(named name: String) -> (any Gadget)? { makers[name]?() }

    public var names: [String] { makers.keys.sorted() }
}
