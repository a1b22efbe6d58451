import CLibbpf
import Foundation
import LinuxKit

/// One BPF program loaded on the node, with the kernel's run statistics (bpf_prog_info's
/// run_cnt and run_time_ns). The kernel only advances those while statistics are enabled
/// (`BPFRunTimeStats`, or the sysctl kernel.bpf_stats_enabled): they are totals of the enabled
/// periods since the program was loaded.
public struct BPFProgramStats: Sendable, Equatable {
    public var id: UInt32
    /// The function's full name from the program's BTF, else the kernel's first 15 characters.
    public var name: String
    /// libbpf's name of the program type ("tracing", "raw_tracepoint", "tracepoint"...).
    public var type: String
    public var runCount: UInt64
    public var runTimeNanoseconds: UInt64

    public init(id: UInt32, name: String, type: String, runCount: UInt64, runTimeNanoseconds: UInt64) {
        self.id = id
        self.name = name
        self.type = type
        self.runCount = runCount
        self.runTimeNanoseconds = runTimeNanoseconds
    }
}

/// Reads the node's loaded programs (bpf_prog_get_next_id, bpf_prog_get_fd_by_id,
/// bpf_obj_get_info_by_fd). Keeps the full names it found, by program id, across calls: ids are
/// not reused while the kernel runs, and reading a program's BTF each time would cost more than
/// the rest of a sample.
public final class BPFProgramTable {
    private var names: [UInt32: (name: String, type: String)] = [:]

    public init() {}

    /// Every loaded program whose kernel name (15 characters) starts with `prefix`; programs that
    /// go away while being read are skipped.
    public func programs(namePrefix prefix: String) throws(SondeError) -> [BPFProgramStats] {
        var result: [BPFProgramStats] = []
        var seen = Set<UInt32>()
        var id: UInt32 = 0
        while true {
            var next: UInt32 = 0
            let status = bpf_prog_get_next_id(id, &next)
            if status < 0 {
                let error = Errno(rawValue: -status)
                if error == .notFound { break } // the last one
                if error == .interrupted { continue }
                throw SondeError.system("cannot list the loaded BPF programs (BPF_PROG_GET_NEXT_ID)", error)
            }
            id = next
            let fd = bpf_prog_get_fd_by_id(id)
            guard fd >= 0 else {
                if Errno(rawValue: -fd) == .notFound { continue } // unloaded meanwhile
                throw SondeError.system("cannot open BPF program \(id) (BPF_PROG_GET_FD_BY_ID)", Errno(rawValue: -fd))
            }
            defer { close(fd) }
            var info = bpf_prog_info()
            var length = UInt32(MemoryLayout<bpf_prog_info>.size)
            try negativeErrnoCall("reading BPF program \(id)'s info") { bpf_obj_get_info_by_fd(fd, &info, &length) }
            let short = withUnsafeBytes(of: info.name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard short.hasPrefix(prefix) else { continue }
            seen.insert(id)
            let described = names[id] ?? {
                let type = libbpf_bpf_prog_type_str(bpf_prog_type(rawValue: info.type)).map { String(cString: $0) } ?? "type \(info.type)"
                let entry = (Self.fullName(fd: fd, info: info) ?? short, type)
                names[id] = entry
                return entry
            }()
            result.append(BPFProgramStats(id: id, name: described.name, type: described.type,
                                          runCount: info.run_cnt, runTimeNanoseconds: info.run_time_ns))
        }
        names = names.filter { seen.contains($0.key) }
        return result
    }

    /// The name of the program's main function in its BTF (func_info record at instruction 0);
    /// nil when it was loaded without BTF.
    static func fullName(fd: Int32, info: bpf_prog_info) -> String? {
        guard info.btf_id != 0, info.nr_func_info > 0, info.func_info_rec_size >= UInt32(MemoryLayout<bpf_func_info>.size) else { return nil }
        // A second call asking for the func_info records only.
        let recordSize = Int(info.func_info_rec_size)
        var records = [UInt8](repeating: 0, count: Int(info.nr_func_info) * recordSize)
        var query = bpf_prog_info()
        query.nr_func_info = info.nr_func_info
        query.func_info_rec_size = info.func_info_rec_size
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let status = records.withUnsafeMutableBytes { raw -> Int32 in
            query.func_info = UInt64(UInt(bitPattern: raw.baseAddress))
            return bpf_obj_get_info_by_fd(fd, &query, &length)
        }
        guard status == 0 else { return nil }
        let main = (0..<Int(query.nr_func_info)).lazy.map { index in
            records.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * recordSize, as: bpf_func_info.self) }
        }.first { $0.insn_off == 0 }
        guard let main, let btf = btf__load_from_kernel_by_id(info.btf_id) else { return nil }
        defer { btf__free(btf) }
        guard let type = btf__type_by_id(btf, main.type_id), let name = btf__name_by_offset(btf, type.pointee.name_off) else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }
}

/// BPF_ENABLE_STATS(BPF_STATS_RUN_TIME) held: the kernel counts every program's runs and run time
/// while any such fd is open (or kernel.bpf_stats_enabled is 1). It costs two clock reads on every
/// run of every program of the node, so hold it for short windows only. Closed in deinit.
public final class BPFRunTimeStats {
    let fd: Int32

    public init() throws(SondeError) {
        let fd = bpf_enable_stats(BPF_STATS_RUN_TIME)
        guard fd >= 0 else {
            throw SondeError.system("cannot enable BPF run-time statistics (BPF_ENABLE_STATS)", Errno(rawValue: -fd))
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Whether the sysctl kernel.bpf_stats_enabled keeps statistics on for everyone (then holding
    /// the fd adds nothing, and the totals advance all the time).
    public static var enabledBySysctl: Bool {
        (try? Files.readData("/proc/sys/kernel/bpf_stats_enabled")).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "1" } ?? false
    }
}

/// What each program cost over one window: the difference of two readings.
public struct BPFProgramCost: Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var type: String
    public var runs: UInt64
    public var runTimeNanoseconds: UInt64

    public init(id: UInt32, name: String, type: String, runs: UInt64, runTimeNanoseconds: UInt64) {
        self.id = id
        self.name = name
        self.type = type
        self.runs = runs
        self.runTimeNanoseconds = runTimeNanoseconds
    }

    /// Mean run time; nil without runs.
    public var nanosecondsPerRun: Double? { runs == 0 ? nil : Double(runTimeNanoseconds) / Double(runs) }

    /// Share of one CPU the program used over a window of this length.
    public func cpuShare(windowSeconds: Double) -> Double {
        windowSeconds > 0 ? Double(runTimeNanoseconds) / (windowSeconds * 1e9) : 0
    }

    /// Per program present at both readings (a program loaded in between has no first reading:
    /// its totals cover only its enabled time, all within the window, so they count whole).
    /// Sorted by run time, the costliest first.
    public static func between(_ before: [BPFProgramStats], _ after: [BPFProgramStats]) -> [BPFProgramCost] {
        let earlier = Dictionary(before.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return after.map { program in
            let start = earlier[program.id]
            // Totals only grow; a smaller one would be another program under a reused id.
            let runs = program.runCount >= (start?.runCount ?? 0) ? program.runCount - (start?.runCount ?? 0) : program.runCount
            let time = program.runTimeNanoseconds >= (start?.runTimeNanoseconds ?? 0)
                ? program.runTimeNanoseconds - (start?.runTimeNanoseconds ?? 0) : program.runTimeNanoseconds
            return BPFProgramCost(id: program.id, name: program.name, type: program.type, runs: runs, runTimeNanoseconds: time)
        }.sorted { ($0.runTimeNanoseconds, $1.id) > ($1.runTimeNanoseconds, $0.id) }
    }
}
