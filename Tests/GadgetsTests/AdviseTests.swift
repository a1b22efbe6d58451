import BPFKit
import BPFObjects
import Foundation
import Testing
@testable import Gadgets

@Suite struct AdviseTests {
    @Test func theSetGivesTheNumbersOfItsBits() {
        var set = SeccompAdvisor.SyscallSet()
        set.bits.0 = 1 << 0 | 1 << 59
        set.bits.15 = 1 << 63
        #expect(set.numbers == [0, 59, 1023])
    }

    @Test func aProfileNamesTheSyscallsSortedAndRefusesTheRestWithEPERM() throws {
        let profile = SeccompProfile(allowing: [59, 0, 1, 231, 900])
        #expect(profile.allowedNames == ["execve", "exit_group", "read", "write"])
        #expect(profile.unknownNumbers == [900])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(profile.json().utf8)) as? [String: Any])
        #expect(json["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        #expect(json["defaultErrnoRet"] as? Int == 1)
        #expect(json.keys.sorted() == ["architectures", "defaultAction", "defaultErrnoRet", "syscalls"])
        #expect(SeccompProfile(allowing: []).syscalls.isEmpty)
    }
}
