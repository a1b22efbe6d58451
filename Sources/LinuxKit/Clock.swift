#if canImport(Glibc)
import Glibc
#endif

/// Converts the kernel's CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns) into wall-clock time.
public struct BootClock: Sendable {
    /// realtime - boottime, sampled once: both clocks advance together while sonde runs.
    public let offsetNanoseconds: Int64

    public init() {
        var boot = timespec()
        var real = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_REALTIME, &real)
        offsetNanoseconds = (Int64(real.tv_sec) - Int64(boot.tv_sec)) * 1_000_000_000
            + Int64(real.tv_nsec) - Int64(boot.tv_nsec)
    }

    /// Nanoseconds since the Unix epoch for a boot-time stamp.
    public func wallNanoseconds(boot: UInt64) -> Int64 {
        Int64(bitPattern: boot) &+ offsetNanoseconds
    }

    public static func nowBootNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
