/// Whether this process may load and attach BPF tracing programs, and whether the kernel can run them.
public enum Preflight {
    // Capability bits (linux/capability.h).
    static let capSysAdmin = 21
    static let capPerfmon = 38
    static let capBPF = 39

    /// Throws a one-line explanation when sonde cannot trace here: not privileged, or no BTF.
    public static func checkTracing() throws(SondeError) {
        let caps = effectiveCapabilities()
        let hasBPF = caps.map { $0 & (1 << capBPF) != 0 && $0 & (1 << capPerfmon) != 0 } ?? false
        let hasAdmin = caps.map { $0 & (1 << capSysAdmin) != 0 } ?? false
        guard hasBPF || hasAdmin else {
            throw SondeError(.notPrivileged,
                             "sonde needs root to load BPF programs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)",
                             hint: "run it as root, e.g. with sudo")
        }
        guard Files.exists("/sys/kernel/btf/vmlinux") else {
            throw SondeError(.kernelFeatureMissing,
                             "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing)",
                             hint: "sonde's programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y")
        }
    }

    /// CapEff from /proc/self/status.
    static func effectiveCapabilities() -> UInt64? {
        guard let status = try? Files.readText("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }
}
