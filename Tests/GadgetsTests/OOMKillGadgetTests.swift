import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct OOMKillGadgetTests {
    @Test func userSpaceReadsTheLayoutTheProgramWrites() throws {
        let object = try BPFObject(name: "oomkill", bytes: EmbeddedBPF.oomkill.bytes)
        let layout = try #require(object.structLayout("sonde_oomkill_event"))
        typealias L = OOMKillGadget.Layout
        #expect(layout.offsets["victim_pid"] == L.victimPID)
        #expect(layout.offsets["victim_tid"] == L.victimTID)
        #expect(layout.offsets["victim_uid"] == L.victimUID)
        #expect(layout.offsets["victim_oom_score_adj"] == L.victimOOMScoreAdjust)
        #expect(layout.offsets["victim_cgroup_id"] == L.victimCgroupID)
        #expect(layout.offsets["total_vm_pages"] == L.totalVM)
        #expect(layout.offsets["anon_rss_pages"] == L.anonRSS)
        #expect(layout.offsets["file_rss_pages"] == L.fileRSS)
        #expect(layout.offsets["shmem_rss_pages"] == L.shmemRSS)
        #expect(layout.offsets["victim_comm"] == L.victimComm)
        #expect(layout.size == L.size)
    }
}
