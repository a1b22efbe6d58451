import Foundation
import GadgetCatalog
import Testing
import TestSupport

/// Every gadget of the catalogue is offered everywhere gadgets are listed, by the real executables:
/// a gadget added to the catalogue but missing from a command, the daemon, audit rules or cluster
/// mode fails here.
@Suite struct GadgetListTests {
    @Test func everyCataloguedGadgetHasItsCommandWithItsFields() throws {
        for about in GadgetCatalog.all {
            let help = try run(sondeExecutable, [about.kind.rawValue, about.name, "--help"])
            #expect(help.status == 0, "sonde \(about.command) --help: \(help.stderr)")
            let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(text.contains(about.abstract.split(whereSeparator: \.isWhitespace).joined(separator: " ")), "sonde \(about.command)")
            // advise writes a profile, not rows: it has no --fields.
            for field in about.catalog.fields.map(\.name) where about.kind != .advise {
                #expect(text.contains(" \(field) ("), "sonde \(about.command) --help lacks field \(field)")
            }
        }
    }

    @Test func everyEventStreamIsOfferedByTheDaemonAuditAndClusterMode() throws {
        let names = GadgetCatalog.eventStreams.map(\.name)
        #expect(!names.isEmpty)
        let kubectlSonde = executable("kubectl-sonde")
        let lists: [(what: String, executable: String, arguments: [String], prefix: String)] = [
            ("sonde daemon trace", sondeExecutable, ["daemon", "trace", "--help"], "The gadget: "),
            ("kubectl sonde trace", kubectlSonde, ["trace", "--help"], "The gadget: "),
            ("sonde audit", sondeExecutable, ["audit", "--help"], "Sources: "),
        ]
        for list in lists {
            let help = try run(list.executable, list.arguments)
            #expect(help.status == 0, "\(list.what): \(help.stderr)")
            let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let listed = try #require(text.range(of: list.prefix), "\(list.what) --help: \(text)")
            let offered = Set(text[listed.upperBound...].prefix { $0 != "." && $0 != "(" }
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(offered.isSuperset(of: names), "\(list.what) offers \(offered.sorted())")
        }
        // An unknown trace gadget is refused with the catalogue's trace gadgets as the valid ones.
        let unknown = try run(sondeExecutable, ["trace", "nope"])
        #expect(unknown.status != 0)
        for about in GadgetCatalog.group(.trace) {
            #expect(unknown.stderr.contains(about.name), "\(unknown.stderr)")
        }
    }
}
