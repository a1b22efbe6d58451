import BPFKit
import Events
import GadgetCatalog
import Testing
@testable import Gadgets

/// The catalogue (what clients list) and the registry (what the daemon and the CLI run) describe
/// the same stream gadgets; the CLI, audit and cluster lists are checked against the catalogue by
/// IntegrationTests.GadgetListTests with the real executables.
@Suite struct GadgetRegistryTests {
    @Test func everyEventStreamOfTheCatalogueHasAnImplementationAndNoOtherHas() {
        let catalogued = GadgetCatalog.eventStreams.map(\.name)
        let implemented = GadgetRegistry.streams.map { $0.about.name }
        #expect(Set(catalogued) == Set(implemented))
        #expect(catalogued.count == implemented.count)
        #expect(GadgetRegistry.names == catalogued)
        for type in GadgetRegistry.streams {
            #expect(GadgetCatalog.all.contains { $0.kind == .trace && $0.name == type.about.name && $0.eventStream })
        }
    }

    @Test func aGadgetMadeByNameIsThatGadgetWithItsCataloguedFields() throws {
        for about in GadgetCatalog.eventStreams {
            let gadget = try #require(GadgetRegistry.gadget(named: about.name))
            #expect(gadget.name == about.name)
            #expect(gadget.catalog.names == about.catalog.names)
            #expect(!gadget.object.bytes.isEmpty)
        }
        #expect(GadgetRegistry.gadget(named: "nope") == nil)
    }

    @Test func commandsAreUniqueAndEveryDefaultColumnIsAField() throws {
        let commands = GadgetCatalog.all.map(\.command)
        #expect(Set(commands).count == commands.count)
        for about in GadgetCatalog.all + [.supervise] {
            #expect(!about.abstract.isEmpty)
            _ = try about.catalog.columns(nil)
        }
    }
}
