import BPFKit
import BPFObjects
import Syscalls
import Testing
@testable import Gadgets

@Suite struct MountGadgetTests {
    @Test func flagsAreNamedPerSyscall() {
        #expect(SymbolText.mountFlags(2 | 4) == "MS_NOSUID|MS_NODEV")
        #expect(SymbolText.mountFlags(0xC0ED_0000 | 1) == "MS_MGC_VAL|MS_RDONLY")
        #expect(SymbolText.umountFlags(2) == "MNT_DETACH")
        #expect(MountGadget.names(0x44, MountGadget.moveMountFlags) == "MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH")
        #expect(MountGadget.names(0x8000, MountGadget.moveMountFlags) == "0x8000")
        #expect(MountGadget.names(0, MountGadget.moveMountFlags) == "0")
    }
}
