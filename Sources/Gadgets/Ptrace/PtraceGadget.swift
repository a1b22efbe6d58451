import BPFKit
import BPFObjects
import Events
import GadgetCatalog
import LinuxKit

/// trace ptrace: every ptrace(2) call of the selected containers, with its request, target and
/// result (bpf/ptrace.bpf.c; the record is `struct sonde_ptrace_event` of bpf/ptrace.h). The
/// event's process and container are the tracer's.
public struct PtraceGadget: StreamGadget {
    public init() {}

    public var object: EmbeddedBPFObject { EmbeddedBPF.ptrace }

    // Offsets in struct sonde_ptrace_event (checked against the object's BTF by a test).
    enum Layout {
        static let retval = RecordHeader.size
        static let request = retval + 8
        static let targetPID = request + 8
        static let addr = targetPID + 8
        static let data = addr + 8
        static let size = data + 8
    }

    /// Request names of x86_64 (include/uapi/linux/ptrace.h and arch/x86/include/uapi/asm/ptrace-abi.h).
    static let requests: [Int64: String] = [
        0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
        4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT", 8: "PTRACE_KILL",
        9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS", 14: "PTRACE_GETFPREGS",
        15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH", 18: "PTRACE_GETFPXREGS",
        19: "PTRACE_SETFPXREGS", 24: "PTRACE_SYSCALL", 25: "PTRACE_GET_THREAD_AREA",
        26: "PTRACE_SET_THREAD_AREA", 30: "PTRACE_ARCH_PRCTL", 31: "PTRACE_SYSEMU",
        32: "PTRACE_SYSEMU_SINGLESTEP", 33: "PTRACE_SINGLEBLOCK",
        0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
        0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
        0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
        0x4209: "PTRACE_PEEKSIGINFO", 0x420a: "PTRACE_GETSIGMASK", 0x420b: "PTRACE_SETSIGMASK",
        0x420c: "PTRACE_SECCOMP_GET_FILTER", 0x420d: "PTRACE_SECCOMP_GET_METADATA",
        0x420e: "PTRACE_GET_SYSCALL_INFO", 0x420f: "PTRACE_GET_RSEQ_CONFIGURATION",
        0x4210: "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", 0x4211: "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG",
        0x4212: "PTRACE_SET_SYSCALL_INFO",
    ]

    public static var about: GadgetDescription { .ptrace }

    public func decode(_ record: BPFRecord, header: RecordHeader) -> [(name: String, value: FieldValue)]? {
        guard record.count >= Layout.size,
              let retval = record.load(Int64.self, at: Layout.retval),
              let request = record.load(Int64.self, at: Layout.request),
              let target = record.load(Int64.self, at: Layout.targetPID),
              let addr = record.load(UInt64.self, at: Layout.addr),
              let data = record.load(UInt64.self, at: Layout.data) else { return nil }
        return [
            ("request", .string(Self.requests[request] ?? String(request))),
            ("target_pid", .int(target)),
            ("addr", .uint(addr)),
            ("data", .uint(data)),
            ("ret", .result(retval)),
        ]
    }
}
