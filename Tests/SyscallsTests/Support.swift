import Syscalls

/// A record of the named x86_64 syscall.
func record(_ name: String, _ arguments: [UInt64], _ captured: [Int: CapturedData] = [:],
            _ completion: SyscallRecord.Completion) -> SyscallRecord {
    guard let number = SyscallTable.x86_64.number(of: name) else { fatalError("no syscall \(name)") }
    return SyscallRecord(number: number, arguments: arguments + Array(repeating: 0, count: max(0, 6 - arguments.count)),
                         captured: captured, completion: completion)
}

/// strace's line for a call that returned `value`.
func line(_ name: String, _ arguments: [UInt64], _ captured: [Int: CapturedData] = [:], returns value: Int64,
          stringLimit: Int = 32) -> String {
    SyscallFormatter.format(record(name, arguments, captured, .returned(value)), stringLimit: stringLimit)
}

/// strace's line for a call still running.
func unfinishedLine(_ name: String, _ arguments: [UInt64], _ captured: [Int: CapturedData] = [:]) -> String {
    SyscallFormatter.format(record(name, arguments, captured, .unfinished))
}

/// A register holding a negative C int (as the kernel sees it: sign-extended).
func reg(_ value: Int64) -> UInt64 { UInt64(bitPattern: value) }

/// Captured bytes of a string (without its NUL).
func text(_ s: String, truncated: Bool = false) -> CapturedData {
    CapturedData(bytes: Array(s.utf8), truncated: truncated)
}

func raw(_ bytes: [UInt8], truncated: Bool = false) -> CapturedData { CapturedData(bytes: bytes, truncated: truncated) }

let faulted = CapturedData(bytes: [], faulted: true)

/// Little-endian structure builder.
struct Pack {
    var bytes: [UInt8] = []

    func u8(_ v: UInt64) -> Pack { var p = self; p.bytes.append(UInt8(truncatingIfNeeded: v)); return p }
    func u16(_ v: UInt64) -> Pack { var p = self; for k in 0..<2 { p.bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }; return p }
    func u32(_ v: UInt64) -> Pack { var p = self; for k in 0..<4 { p.bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }; return p }
    func u64(_ v: UInt64) -> Pack { var p = self; for k in 0..<8 { p.bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }; return p }
    func i64(_ v: Int64) -> Pack { u64(UInt64(bitPattern: v)) }
    func be16(_ v: UInt64) -> Pack { var p = self; p.bytes += [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]; return p }
    func raw(_ b: [UInt8]) -> Pack { var p = self; p.bytes += b; return p }
    func zeros(_ n: Int) -> Pack { raw([UInt8](repeating: 0, count: n)) }
    var data: CapturedData { CapturedData(bytes: bytes) }
}

/// struct stat with a mode, a size and a device number.
func statStruct(mode: UInt64, size: Int64 = 0, rdev: UInt64 = 0) -> CapturedData {
    Pack().u64(0).u64(0).u64(1).u32(mode).u32(0).u32(0).u32(0).u64(rdev).i64(size).zeros(144 - 56).data
}

/// The kernel's struct sigaction.
func sigaction(handler: UInt64, flags: UInt64, restorer: UInt64, mask: UInt64) -> CapturedData {
    Pack().u64(handler).u64(flags).u64(restorer).u64(mask).data
}

/// A sigset with these signals.
func sigset(_ signals: [Int]) -> CapturedData {
    var bits: UInt64 = 0
    for s in signals { bits |= 1 << UInt64(s - 1) }
    return Pack().u64(bits).data
}

func timespec(_ seconds: Int64, _ nanoseconds: Int64) -> CapturedData { Pack().i64(seconds).i64(nanoseconds).data }

func sockaddrIn(port: UInt64, address: [UInt8]) -> CapturedData {
    Pack().u16(2).be16(port).raw(address).zeros(8).data
}

func sockaddrIn6(port: UInt64, flowinfo: UInt32 = 0, address: [UInt8], scope: UInt64 = 0) -> CapturedData {
    Pack().u16(10).be16(port).raw([UInt8(flowinfo >> 24), UInt8(flowinfo >> 16 & 0xFF), UInt8(flowinfo >> 8 & 0xFF),
                                   UInt8(flowinfo & 0xFF)]).raw(address).u32(scope).data
}

func sockaddrUn(_ path: [UInt8], length: Int) -> CapturedData {
    CapturedData(bytes: Array((Pack().u16(1).raw(path).zeros(110).bytes).prefix(length)))
}

/// NUL-separated strings, as the recorder captures argv.
func strings(_ items: [String], truncated: Bool = false) -> CapturedData {
    var bytes: [UInt8] = []
    for item in items { bytes += Array(item.utf8) + [0] }
    return CapturedData(bytes: bytes, truncated: truncated)
}
