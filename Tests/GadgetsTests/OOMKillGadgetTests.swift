import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct OOMKillGadgetTests {
}
