import Events
import GadgetCatalog

/// A gadget whose records become one event each, streamed as they happen: `sonde trace NAME`, the
/// daemon's RunGadget, audit rule sources and cluster mode all run it by its catalogue entry.
public protocol StreamGadget: Gadget {
    /// Its entry in GadgetCatalog: name, help and fields.
    static var about: GadgetDescription { get }
    init()
}

extension StreamGadget {
    public var name: String { Self.about.name }
    public static var catalog: FieldCatalog { about.catalog }
    public var catalog: FieldCatalog { Self.about.catalog }
}

/// The implementations of GadgetCatalog's event streams. A new stream gadget adds its type here
/// (and its description to GadgetCatalog.all); everything that lists gadgets derives from the two.
public enum GadgetRegistry {
    public static let streams: [any StreamGadget.Type] = [
        ExecGadget.self, OpenGadget.self, TcpGadget.self, BindGadget.self, SignalGadget.self, MountGadget.self,
        CapabilitiesGadget.self, OOMKillGadget.self, PtraceGadget.self,
    ]

    /// A new instance of the stream gadget of that name, or nil.
    public static func gadget(named name: String) -> (any StreamGadget)? {
        streams.first { $0.about.name == name }.map { $0.init() }
    }

    /// The stream gadgets' names, in the catalogue's order.
    public static var names: [String] {
        GadgetCatalog.eventStreams.map(\.name).filter { name in streams.contains { $0.about.name == name } }
    }
}
