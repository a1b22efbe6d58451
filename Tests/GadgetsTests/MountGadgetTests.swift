import BPFKit
import BPFObjects
import Syscalls
import Testing
@testable import Gadgets

@Suite struct MountGadgetTests {
    @Test func userSpaceReadsTheLayoutTheProgramWrites() throws {
        let object = try BPFObject(name: "mount", bytes: EmbeddedBPF.mount.bytes)
        let layout = try #require(object.structLayout("sonde_mount_event"))
        typealias L = MountGadget.Layout
        #expect(layout.offsets["ret"] == L.ret)
        #expect(layout.offsets["flags"] == L.flags)
        #expect(layout.offsets["syscall_nr"] == L.syscallNumber)
        #expect(layout.offsets["event_flags"] == L.eventFlags)
        #expect(layout.offsets["source"] == L.source)
        #expect(layout.offsets["target"] == L.target)
        #expect(layout.offsets["fstype"] == L.fstype)
        #expect(layout.offsets["data"] == L.data)
        #expect(layout.size == L.size)
    }

    @Test func flagsAreNamedPerSyscall() {
        #expect(SymbolText.mountFlags(2 | 4) == "MS_NOSUID|MS_NODEV")
        #expect(SymbolText.mountFlags(0xC0ED_0000 | 1) == "MS_MGC_VAL|MS_RDONLY")
        #expect(SymbolText.umountFlags(2) == "MNT_DETACH")
        #expect(MountGadget.names(0x44, MountGadget.moveMountFlags) == "MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH")
        #expect(MountGadget.names(0x8000, MountGadget.moveMountFlags) == "0x8000")
        #expect(MountGadget.names(0, MountGadget.moveMountFlags) == "0")
    }
}
