import Testing
@testable import Syscalls

/// The second half of a call whose entry was lost, with the result rendered by the call's own rules.
@Suite struct ResumedFormattingTests {
    func resumed(_ number: Int, _ value: Int64) -> String {
        SyscallFormatter().formatResumed(SyscallRecord(number: number, arguments: [], completion: .returned(value)))
    }

    @Test func resultsFollowEachSyscallsRules() {
        #expect(resumed(0, 5) == "<... read resumed>) = 5")
        #expect(resumed(0, -4) == "<... read resumed>) = -1 EINTR (Interrupted system call)")
        #expect(resumed(9, 0x7f12_3456_7000) == "<... mmap resumed>) = 0x7f1234567000")
        #expect(resumed(1000, 3) == "<... syscall_0x3e8 resumed>) = 3")
    }
}
