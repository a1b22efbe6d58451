import BPFObjects
import DevBPFObjects
import Glibc
import Testing
@testable import BPFKit
@testable import LinuxKit

/// These load real programs into this kernel: sonde's CI runs as root on a BPF-capable machine.
@Suite(.serialized) struct BPFKitTests {
    init() throws {
        try Preflight.checkTracing()
        try KernelFilesystems.ensureTracefs()
    }

    /// bpf_stats' source: the node's loaded programs, found by name, the full name from BTF (the
    /// kernel keeps 15 characters: "selftest_sys_en").
    @Test func loadedProgramsAreListedWithTheirFullNames() throws {
        let object = try selftestObject()
        try object.load()
        let programs = try BPFProgramTable().programs(namePrefix: "selftest_")
        #expect(programs.contains { $0.name == "selftest_sys_enter" && $0.type == "raw_tracepoint" }, "\(programs)")
        #expect(try BPFProgramTable().programs(namePrefix: "no-such-prefix-").isEmpty)
        withExtendedLifetime(object) {}
    }

    func selftestObject() throws -> BPFObject {
        let object = try BPFObject(name: "selftest", bytes: EmbeddedBPF.selftest.bytes)
        try object.setConstant("target_tgid", to: UInt32(getpid()))
        return object
    }

    @Test func constantsAreCheckedByNameAndSize() throws {
        let object = try selftestObject()
        #expect(throws: SondeError.self) { try object.setConstant("no_such_constant", to: UInt32(1)) }
        #expect(throws: SondeError.self) { try object.setConstant("target_tgid", to: UInt64(1)) }
    }

    @Test func typedMapOperations() throws {
        let object = try BPFObject(name: "exec", bytes: EmbeddedBPF.exec.bytes)
        try object.load()
        let map = try object.map("sonde_cgroups")
        #expect(map.keySize == 8 && map.valueSize == 1)
        #expect(try map.lookup(UInt64(11), as: UInt8.self) == nil)
        try map.update(UInt64(11), UInt8(1))
        try map.update(UInt64(12), UInt8(2))
        #expect(try map.lookup(UInt64(12), as: UInt8.self) == 2)
        #expect(Set(try map.keys(as: UInt64.self)) == [11, 12])
        #expect(throws: SondeError.self) { try map.update(UInt64(11), UInt8(3), mode: .noExist) }
        #expect(try map.delete(UInt64(11)))
        #expect(try !map.delete(UInt64(11)))
        #expect(try map.keys(as: UInt64.self) == [12])
        let lost = try object.map("sonde_lost")
        #expect(try lost.lookupPerCPU(UInt32(0), as: UInt64.self).allSatisfy { $0 == 0 })
        #expect(throws: SondeError.self) { try object.map("no_such_map") }
    }

    @Test func ringAndPerfBuffersDeliverEveryRecordInOrder() async throws {
        let object = try selftestObject()
        try object.load()
        let ring = try RingBufferReader(map: try object.map("ring"))
        let perf = try PerfBufferReader(map: try object.map("perf"), pagesPerCPU: 8)
        try object.attachAll()
        // Syscalls of this process produce records; getppid is cheap and has no side effects.
        for _ in 0..<200 { _ = getppid() }

        var ringSequences: [UInt64] = []
        for try await record in ring.records {
            let tgid = try #require(record.load(UInt32.self, at: 8))
            #expect(tgid == UInt32(getpid()))
            ringSequences.append(try #require(record.load(UInt64.self, at: 0)))
            if ringSequences.count >= 200 { break }
        }
        #expect(ringSequences == ringSequences.sorted())
        #expect(Set(ringSequences).count == ringSequences.count)

        var perfCount = 0
        for try await record in perf.records {
            #expect(record.count >= 16)
            #expect(record.cpu >= 0)
            perfCount += 1
            if perfCount >= 200 { break }
        }
        #expect(perfCount == 200)
        #expect(perf.lostRecords == 0)
    }

    @Test func aRejectedProgramExplainsWhy() throws {
        // The kernel refuses a hash map of zero entries; that must surface as a load error that
        // names the object, not a crash.
        let object = try BPFObject(name: "exec", bytes: EmbeddedBPF.exec.bytes)
        try object.setMaxEntries(map: "sonde_cgroups", 0)
        do throws(SondeError) {
            try object.load()
            Issue.record("a ring buffer of 3 bytes was accepted")
        } catch {
            #expect(error.code == .bpfLoadFailed)
            #expect(error.description.contains("cannot load BPF object exec"))
        }
    }

    @Test func garbageIsNotAnObject() {
        #expect(throws: SondeError.self) { try BPFObject(name: "garbage", bytes: [1, 2, 3, 4]) }
    }

    @Test func structLayoutsComeFromBTF() throws {
        let object = try BPFObject(name: "exec", bytes: EmbeddedBPF.exec.bytes)
        let header = try #require(object.structLayout("sonde_event_header"))
        #expect(header.size == 64)
        #expect(header.offsets["comm"] == 48)
        #expect(object.structLayout("no_such_struct") == nil)
    }
}
