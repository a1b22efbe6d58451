import Events
import Foundation

extension GadgetDescription {
    public static let topFile = GadgetDescription(
        kind: .top, name: "file", eventStream: false,
        abstract: "Reads, writes and bytes per file per process (read/write/pread/pwrite/readv/writev and their variants).",
        catalog: FieldCatalog(own: [
            .gadget("file", .string, "the file's name (last path component)", width: 24),
            .gadget("type", .string, "R regular, S socket, P pipe, C/B device, O other", header: "T", width: 1),
            .gadget("reads", .uint, "read calls in the interval", width: 7),
            .gadget("writes", .uint, "write calls in the interval", width: 7),
            .gadget("rbytes", .uint, "bytes read in the interval", header: "R_BYTES", width: 10),
            .gadget("wbytes", .uint, "bytes written in the interval", header: "W_BYTES", width: 10),
            .gadget("inode", .uint, "the file's inode number", width: 9),
            .gadget("dev", .uint, "the device of its filesystem (major << 20 | minor)", width: 8),
        ], defaultFields: ["container", "pid", "comm", "reads", "writes", "rbytes", "wbytes", "type", "file"]))

    public static let topTcp = GadgetDescription(
        kind: .top, name: "tcp", eventStream: false,
        abstract: "Bytes sent and received per TCP connection per process (every send, receive, read and write on a socket).",
        catalog: FieldCatalog(own: [
            .gadget("family", .string, "ipv4 or ipv6", header: "IP", width: 4),
            .gadget("src", .string, "local address:port", width: 24),
            .gadget("dst", .string, "remote address:port", width: 24),
            .gadget("sent", .uint, "bytes sent in the interval", width: 10),
            .gadget("received", .uint, "bytes received in the interval", header: "RECV", width: 10),
            .gadget("sends", .uint, "send calls in the interval", width: 6),
            .gadget("receives", .uint, "receive calls in the interval", header: "RECVS", width: 6),
            .gadget("sport", .uint, "local port", width: 5),
            .gadget("dport", .uint, "remote port", width: 5),
        ], defaultFields: ["container", "pid", "comm", "family", "src", "dst", "sent", "received"]))

    public static let topSyscalls = GadgetDescription(
        kind: .top, name: "syscalls", eventStream: false,
        abstract: "Calls, errors and latency percentiles per syscall per container, counted in the kernel (no events).",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "the syscall's name (x86_64 table)", width: 18),
            .gadget("nr", .uint, "the syscall's number", width: 4),
            .gadget("count", .uint, "calls in the interval (exit and exit_group counted when the thread ends)", width: 9),
            .gadget("errors", .uint, "calls that failed (returned -errno) in the interval", width: 7),
            latency("avg", "mean latency"),
            latency("p50", "median latency, estimated from the power-of-two histogram (within 2x)"),
            latency("p90", "90th percentile of the latency, estimated from the histogram"),
            latency("p99", "99th percentile of the latency, estimated from the histogram"),
            .gadget("total_ns", .uint, "time spent in the calls of the interval (ns)", header: "TOTAL_NS", width: 12),
        ], defaultFields: ["container", "syscall", "count", "errors", "avg", "p50", "p90", "p99"]))

    public static let topContainers = GadgetDescription(
        kind: .top, name: "containers", eventStream: false,
        abstract: "CPU, memory and pressure (PSI cpu/memory/io) per container, from its cgroup files.",
        catalog: FieldCatalog(own: [
            percent("cpu", "CPU used in the interval, in percent of one CPU"),
            FieldSpec("memory", .uint, "memory charged to the container now (bytes; shown with its unit)", header: "MEMORY", width: 8,
                      value: { $0.field("memory") },
                      text: { event in
                          guard case .uint(let bytes)? = event.field("memory") else { return "" }
                          return bytesText(bytes)
                      }),
            percent("cpu_some", "PSI cpu some avg10: share of the last 10 s some task waited for a CPU"),
            percent("cpu_full", "PSI cpu full avg10: share of the last 10 s every task waited for a CPU"),
            percent("mem_some", "PSI memory some avg10"),
            percent("mem_full", "PSI memory full avg10"),
            percent("io_some", "PSI io some avg10"),
            percent("io_full", "PSI io full avg10"),
            .gadget("cpu_usec", .uint, "CPU time used since the container started (us)", header: "CPU_USEC", width: 12),
            .gadget("cpu_some_usec", .uint, "PSI cpu some total stall time (us)", header: "CPU_SOME_US", width: 12),
            .gadget("mem_some_usec", .uint, "PSI memory some total stall time (us)", header: "MEM_SOME_US", width: 12),
            .gadget("io_some_usec", .uint, "PSI io some total stall time (us)", header: "IO_SOME_US", width: 12),
            .gadget("usage_from", .string, "where CPU/memory usage was read: v2 or v1 (hybrid hosts: memory from the v1 controller)",
                    header: "FROM", width: 5),
        ], defaultFields: ["container", "cpu", "memory", "cpu_some", "cpu_full", "mem_some", "mem_full", "io_some", "io_full"]))

    /// A latency in ns, shown as 850ns, 12.3us, 4.1ms, 1.20s.
    private static func latency(_ name: String, _ description: String) -> FieldSpec {
        FieldSpec(name, .uint, description + " (ns; shown with its unit)", width: 8,
                  value: { $0.field(name) },
                  text: { event in
                      guard case .uint(let ns)? = event.field(name) else { return "" }
                      return durationText(ns)
                  })
    }

    public static func durationText(_ ns: UInt64) -> String {
        func short(_ value: Double, _ unit: String) -> String {
            (value < 10 ? String(format: "%.2f", value) : value < 100 ? String(format: "%.1f", value) : String(format: "%.0f", value)) + unit
        }
        switch ns {
        case ..<1_000: return "\(ns)ns"
        case ..<1_000_000: return short(Double(ns) / 1e3, "us")
        case ..<1_000_000_000: return short(Double(ns) / 1e6, "ms")
        default: return short(Double(ns) / 1e9, "s")
        }
    }

    private static func percent(_ name: String, _ description: String) -> FieldSpec {
        FieldSpec(name, .uint, description + " (hundredths of a percent; shown as a percent)", width: 8,
                  value: { $0.field(name) },
                  text: { event in
                      guard case .uint(let hundredths)? = event.field(name) else { return "" }
                      return String(format: "%.2f%%", Double(hundredths) / 100)
                  })
    }

    private static func bytesText(_ bytes: UInt64) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes)B" : String(format: value < 10 ? "%.2f%@" : "%.1f%@", value, units[unit])
    }
}
