import BPFKit
import BPFObjects
import Containers
import Events
import LinuxKit

/// A gadget: a BPF program that emits records of one or more kinds, and how to turn them into events.
/// The session (GadgetSession) does everything the gadgets share: loading, selecting containers in
/// the kernel, following new containers, enrichment, and counting what was lost.
public protocol Gadget: Sendable {
    /// As typed on the command line: "exec".
    var name: String { get }
    var object: EmbeddedBPFObject { get }
    /// What each event of the gadget shows: the common fields plus the gadget's own (see
    /// Sources/Events/Fields.swift), and which of them are the default columns.
    var catalog: FieldCatalog { get }
    /// Sets the gadget's own `const volatile` settings before load.
    func configure(_ object: BPFObject) throws(SondeError)
    /// The fields of one record, or nil when the record is corrupt (it is then counted, not shown).
    func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]?
    /// Called once the object is loaded, before its programs attach: gadgets that aggregate in
    /// kernel maps (top, advise) keep the maps they read from here.
    func loaded(_ object: BPFObject) throws(SondeError)
    /// Programs on sys_enter/sys_exit that the node's syscall dispatcher calls for the selected
    /// containers instead of being attached (so processes nobody selected never run them); nil for
    /// gadgets that attach all their programs.
    var dispatchedPrograms: DispatchedPrograms? { get }
    /// Whether the dispatcher calls those programs for the selected containers that already ran
    /// when the gadget started, or only for cgroups made while it runs (which the kernel hands it
    /// from their first syscall on).
    var dispatchesExistingContainers: Bool { get }
    /// True when `enrich` adds something: events of other gadgets skip the call.
    var enrichesEvents: Bool { get }
    /// Adds what decoding alone cannot know, such as the container of another process the event
    /// names (a signal's target); called once the event's own container is set.
    func enrich(_ event: inout Event, containers: ContainerCollection)
}

extension Gadget {
    public func configure(_ object: BPFObject) throws(SondeError) {}
    public func loaded(_ object: BPFObject) throws(SondeError) {}
    public var enrichesEvents: Bool { false }
    public var dispatchedPrograms: DispatchedPrograms? { nil }
    public var dispatchesExistingContainers: Bool { true }
    public func enrich(_ event: inout Event, containers: ContainerCollection) {}
}
