import Foundation
import Testing
@testable import Syscalls

@Suite struct SyscallTableTests {
    let table = SyscallTable.x86_64

    @Test func knownNumbers() {
        let known: [(Int, String)] = [
            (0, "read"), (1, "write"), (2, "open"), (3, "close"), (9, "mmap"), (39, "getpid"), (56, "clone"),
            (59, "execve"), (60, "exit"), (61, "wait4"), (62, "kill"), (202, "futex"), (231, "exit_group"),
            (257, "openat"), (262, "newfstatat"), (302, "prlimit64"), (318, "getrandom"), (322, "execveat"),
            (332, "statx"), (334, "rseq"), (435, "clone3"), (437, "openat2"), (439, "faccessat2"),
            (450, "set_mempolicy_home_node"),
        ]
        for (number, name) in known {
            #expect(table[number]?.name == name, "\(number)")
            #expect(table.number(of: name) == number, "\(name)")
            #expect(table[name]?.number == number, "\(name)")
        }
        #expect(table.architecture == "x86_64")
        #expect(table.maxNumber == 450)
        #expect(table[-1] == nil && table[451] == nil && table[400] == nil)
        #expect(table["no_such_call"] == nil)
        // 0...334 and 424...450, every one.
        #expect(table.syscalls.count == 335 + 27)
        #expect(table.syscalls.map(\.number) == Array(0...334) + Array(424...450))
    }

    @Test func kernelArgumentsFromTracefs() {
        #expect(table["openat"]?.arguments == [
            SyscallArgument(name: "dfd", type: "int"), SyscallArgument(name: "filename", type: "const char *"),
            SyscallArgument(name: "flags", type: "int"), SyscallArgument(name: "mode", type: "umode_t"),
        ])
        #expect(table["execve"]?.arguments.map(\.type) == ["const char *", "const char *const *", "const char *const *"])
        #expect(table["read"]?.arguments.map(\.name) == ["fd", "buf", "count"])
        #expect(table["getpid"]?.arguments == [])
        #expect(table["getpid"]?.argumentsKnown == true)
        // Named differently in tracefs (newstat, sendfile64, umount), found all the same.
        #expect(table["stat"]?.arguments.map(\.name) == ["filename", "statbuf"])
        #expect(table["umount2"]?.arguments.map(\.name) == ["name", "flags"])
        // No tracefs event: the number and name stay, the arguments are unknown.
        #expect(table["afs_syscall"]?.argumentsKnown == false)
        #expect(table["afs_syscall"]?.arguments == [])
        #expect(table.syscalls.filter { $0.argumentsKnown }.count >= 335)
    }

    /// The committed table agrees with this machine's tracefs, when there is one to read.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel/tracing/events/syscalls/sys_enter_read/format")))
    func tableMatchesThisKernelsTracefs() throws {
        let aliases = ["stat": "newstat", "fstat": "newfstat", "lstat": "newlstat", "uname": "newuname",
                       "sendfile": "sendfile64", "umount2": "umount"]
        var checked = 0
        for syscall in table.syscalls {
            let event = aliases[syscall.name] ?? syscall.name
            let path = "/sys/kernel/tracing/events/syscalls/sys_enter_\(event)/format"
            guard let format = try? String(contentsOfFile: path, encoding: .utf8) else {
                #expect(!syscall.argumentsKnown, "\(syscall.name) has arguments but no tracefs event")
                continue
            }
            let fields = format.split(separator: "\n").compactMap { line -> String? in
                guard let start = line.range(of: "field:"), let end = line.range(of: ";") else { return nil }
                let declaration = String(line[start.upperBound..<end.lowerBound])
                return declaration.contains("common_") || declaration.contains("__syscall_nr") ? nil : declaration
            }
            let ours = syscall.arguments.map { "\($0.type) \($0.name)" }
            #expect(fields == ours, "\(syscall.name)")
            checked += 1
        }
        #expect(checked > 300)
    }

    @Test func dedicatedSchemasMatchTheKernelsArity() {
        // rt_sigreturn takes no argument; strace shows the mask it restores, from the signal frame.
        #expect(table["rt_sigreturn"]?.captures == [.signalFrameMask])
        for syscall in table.syscalls where syscall.argumentsKnown && syscall.name != "rt_sigreturn" {
            #expect(syscall.schema.arguments.count == syscall.arguments.count, "\(syscall.name) \(syscall.arguments)")
            #expect(syscall.captures.count == syscall.arguments.count, "\(syscall.name)")
        }
    }

    @Test func descriptorMakingCallsAreTheOnesTheirNumbersName() {
        let names = { (numbers: [Int]) in Set(numbers.compactMap { table[$0]?.name }) }
        #expect(names(Array(SyscallFormatter.returnsDescriptor)) == ["open", "openat", "openat2", "creat", "dup", "dup2", "dup3"])
        #expect(names(Array(SyscallFormatter.returnsOtherDescriptor)) == [
            "socket", "accept", "accept4", "epoll_create", "epoll_create1", "eventfd", "eventfd2", "timerfd_create", "signalfd",
            "signalfd4", "inotify_init", "inotify_init1", "memfd_create", "pidfd_open", "userfaultfd",
        ])
        #expect(SyscallFormatter.returnsDescriptorPair.map { table[$0.key]?.schema.arguments[$0.value] }.allSatisfy {
            if case .intPair = $0 { true } else { false }
        })
        #expect(names(Array(SyscallFormatter.returnsDescriptorPair.keys)) == ["pipe", "pipe2", "socketpair"])
    }

    @Test func strongFormatsCoverTheCommonCalls() {
        let dedicated = table.syscalls.filter(\.hasDedicatedFormat)
        #expect(dedicated.count >= 120, "\(dedicated.count)")
        let common = ["read", "write", "openat", "close", "fstat", "newfstatat", "statx", "mmap", "mprotect", "munmap",
                      "brk", "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "access", "pipe2", "dup2", "clone",
                      "clone3", "execve", "exit_group", "wait4", "kill", "fcntl", "getdents64", "socket", "connect",
                      "accept4", "sendto", "recvfrom", "futex", "epoll_wait", "poll", "nanosleep", "clock_nanosleep",
                      "prlimit64", "getrandom", "set_tid_address", "set_robust_list", "rseq", "arch_prctl"]
        for name in common where name != "getdents64" {
            #expect(table[name]?.hasDedicatedFormat == true, "\(name)")
        }
    }

    @Test func captureSchema() {
        #expect(table["read"]?.captures == [.value, .outputBuffer(lengthArgument: 2), .value])
        #expect(table["write"]?.captures == [.value, .inputBuffer(lengthArgument: 2), .value])
        #expect(table["pwrite64"]?.captures == [.value, .inputBuffer(lengthArgument: 2), .value, .value])
        #expect(table["openat"]?.captures == [.value, .string, .value, .value])
        #expect(table["execve"]?.captures == [.string, .stringArray, .value])
        #expect(table["execveat"]?.captures == [.value, .string, .stringArray, .value, .value])
        #expect(table["connect"]?.captures == [.value, .inputSockaddr(lengthArgument: 2), .value])
        #expect(table["bind"]?.captures == [.value, .inputSockaddr(lengthArgument: 2), .value])
        #expect(table["accept4"]?.captures == [.value, .outputSockaddr(lengthPointerArgument: 2), .inputStruct(size: 4), .value])
        #expect(table["getsockname"]?.captures == [.value, .outputSockaddr(lengthPointerArgument: 2), .inputStruct(size: 4)])
        #expect(table["sendto"]?.captures == [.value, .inputBuffer(lengthArgument: 2), .value, .value,
                                              .inputSockaddr(lengthArgument: 5), .value])
        #expect(table["recvfrom"]?.captures == [.value, .outputBuffer(lengthArgument: 2), .value, .value,
                                                .outputSockaddr(lengthPointerArgument: 5), .inputStruct(size: 4)])
        #expect(table["fstat"]?.captures == [.value, .outputStruct(size: 144)])
        #expect(table["newfstatat"]?.captures == [.value, .string, .outputStruct(size: 144), .value])
        #expect(table["statx"]?.captures == [.value, .string, .value, .value, .outputStruct(size: 256)])
        #expect(table["nanosleep"]?.captures == [.inputStruct(size: 16), .outputStruct(size: 16)])
        #expect(table["clock_nanosleep"]?.captures == [.value, .value, .inputStruct(size: 16), .outputStruct(size: 16)])
        #expect(table["openat2"]?.captures == [.value, .string, .inputStruct(size: 24), .value])
        #expect(table["pipe2"]?.captures == [.outputStruct(size: 8), .value])
        #expect(table["wait4"]?.captures == [.value, .outputStruct(size: 4), .value, .value])
        #expect(table["rt_sigaction"]?.captures == [.value, .inputStruct(size: 32), .outputStruct(size: 32), .value])
        #expect(table["getdents64"]?.captures == [.value, .value, .value])
        #expect(table["ioctl"]?.captures == [.value, .value, .inOutStruct(size: 8)])
        #expect(table["fcntl"]?.captures == [.value, .value, .inOutStruct(size: 32)])
        #expect(table["clone3"]?.captures == [.inputStruct(size: 88), .value])
        #expect(table["getpid"]?.captures == [])
        // Every capture's length argument points at an argument of the call.
        for syscall in table.syscalls {
            for capture in syscall.captures {
                switch capture {
                case .inputBuffer(let n), .outputBuffer(let n), .inputSockaddr(let n), .outputSockaddr(let n):
                    #expect(n >= 0 && n < syscall.captures.count, "\(syscall.name)")
                default: break
                }
            }
        }
        let schema = table.captureSchema()
        #expect(schema.count == 451)
        #expect(schema[0] == table["read"]?.captures)
        #expect(schema[39] == [])
    }

    @Test func returnBehaviour() {
        #expect(table["exit"]?.returnBehavior == .never)
        #expect(table["exit_group"]?.returnBehavior == .never)
        #expect(table["execve"]?.returnBehavior == .neverOnSuccess)
        #expect(table["execveat"]?.returnBehavior == .neverOnSuccess)
        #expect(table["read"]?.returnBehavior == .returns)
        #expect(table.syscalls.filter { $0.returnBehavior != .returns }.map(\.name).sorted() ==
            ["execve", "execveat", "exit", "exit_group"])
    }

    @Test func genericFallbackFollowsTheCTypes() {
        // No dedicated format: integers in decimal, pointers in hex, paths as strings.
        let quotactl = record("quotactl", [0x8000_0100, 0x7000, 0, 0x7100], [1: text("/dev/sda1")], .returned(-1))
        #expect(SyscallFormatter.format(quotactl) ==
            "quotactl(2147483904, \"/dev/sda1\", 0, 0x7100) = -1 EPERM (Operation not permitted)")
        #expect(table["quotactl"]?.captures == [.value, .string, .value, .value])
        let afs = record("afs_syscall", [1, 2, 3, 4, 5, 6], [:], .returned(-38))
        #expect(SyscallFormatter.format(afs) == "afs_syscall(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)")
    }
}

/// docs/syscall-coverage.md is written by scripts/gen-syscall-coverage.sh: it must say what the table does.
@Suite struct SyscallCoverageDocumentTests {
    @Test func theCoveragePageMatchesTheTable() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/syscall-coverage.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        for kind in Syscall.Decoding.allCases {
            let count = SyscallTable.x86_64.syscalls.filter { $0.decoding == kind }.count
            #expect(text.contains("| \(kind.rawValue) | \(count) |"), "docs/syscall-coverage.md is stale: run scripts/gen-syscall-coverage.sh")
        }
    }
}
