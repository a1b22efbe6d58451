import Testing
import Syscalls

/// A 4 MiB recorder buffer holds about 50,000 calls; dumping them must take well under 200 ms in
/// release builds (debug builds get ten times the budget).
@Suite struct PerformanceTests {
    static func workload(count: Int) -> [SyscallRecord] {
        let page = [UInt8]((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let samples: [SyscallRecord] = [
            record("read", [3, 0x7000, 4096], [1: raw(page)], .returned(4096)),
            record("write", [1, 0x7000, 120], [1: raw(Array(page.prefix(120)))], .returned(120)),
            record("openat", [reg(-100), 0x7000, 0o2000000], [1: text("/usr/lib/x86_64-linux-gnu/libc.so.6")], .returned(3)),
            record("newfstatat", [3, 0x7000, 0x7100, 0x1000], [1: text(""), 2: statStruct(mode: 0o100755, size: 1_926_232)],
                   .returned(0)),
            record("mmap", [0, 1_974_096, 1, 0x802, 3, 0], [:], .returned(0x7f2f_3450_0000)),
            record("close", [3], [:], .returned(0)),
            record("futex", [0x7f2f_3477_ca10, 128, 2, 0], [:], .unfinished),
            record("epoll_wait", [5, 0x7000, 64, reg(-1)], [1: Pack().u32(1).u64(7).data], .returned(1)),
            record("sendto", [4, 0x7000, 512, 0x4000, 0, 0], [1: raw(Array(page.prefix(512)))], .returned(512)),
            record("recvfrom", [4, 0x7000, 65536, 0, 0, 0], [1: text("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")],
                   .returned(40)),
            record("clock_gettime", [1, 0x7000], [1: timespec(1625, 869_846_078)], .returned(0)),
            record("connect", [5, 0x7000, 16], [1: sockaddrIn(port: 443, address: [10, 0, 0, 1])], .returned(-115)),
            record("rt_sigprocmask", [0, 0x7000, 0x7100, 8], [1: sigset([17]), 2: sigset([])], .returned(0)),
            record("openat", [reg(-100), 0x7000, 0], [1: text("/etc/ld.so.preload")], .returned(-2)),
        ]
        return (0..<count).map { samples[$0 % samples.count] }
    }

    @Test func fiftyThousandRecordsDumpQuickly() {
        let records = Self.workload(count: 50_000)
        let formatter = SyscallFormatter(alignmentColumn: 34)
        var output: [UInt8] = []
        output.reserveCapacity(8 << 20)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for record in records {
                formatter.append(record, to: &output)
                output.append(0x0A)
            }
        }
        #if DEBUG
        let budget = Duration.milliseconds(2000)
        #else
        let budget = Duration.milliseconds(200)
        #endif
        print("formatted \(records.count) records (\(output.count) bytes) in \(elapsed)")
        #expect(elapsed < budget, "took \(elapsed)")
        #expect(output.count > 50_000 * 30)
    }
}

/// Dumps must never trap, whatever the recorder hands over: random registers, captures of any
/// length (or faulted), any completion, for every number of the table and beyond.
@Suite struct RobustnessTests {
    @Test func randomRecordsNeverTrap() {
        var generator = SplitMix(seed: 0x50DE)
        let interesting: [UInt64] = [0, 1, 2, 3, 8, 16, 28, 110, 0xFFFF_FFFF, UInt64.max, 0x8000_0000_0000_0000,
                                     UInt64(bitPattern: -100), UInt64(bitPattern: -4), 0x7ffc_0000_1000]
        var total = 0
        for number in -2...460 {
            for _ in 0..<24 {
                let arguments = (0..<6).map { _ in
                    generator.next() % 2 == 0 ? interesting[Int(generator.next() % UInt64(interesting.count))] : generator.next()
                }
                var captured: [Int: CapturedData] = [:]
                for index in 0..<6 where generator.next() % 3 != 0 {
                    let length = Int(generator.next() % 300)
                    let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                    captured[index] = CapturedData(bytes: bytes, truncated: generator.next() % 4 == 0,
                                                   faulted: generator.next() % 8 == 0)
                }
                let completion: SyscallRecord.Completion
                switch generator.next() % 4 {
                case 0: completion = .unfinished
                case 1: completion = .noReturn
                case 2: completion = .returned(Int64(bitPattern: generator.next()))
                default: completion = .returned(-Int64(generator.next() % 600))
                }
                let record = SyscallRecord(number: number, arguments: arguments, captured: captured, completion: completion)
                let text = SyscallFormatter.format(record, stringLimit: Int(generator.next() % 64))
                #expect(!text.isEmpty)
                total += 1
            }
        }
        #expect(total > 10_000)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
