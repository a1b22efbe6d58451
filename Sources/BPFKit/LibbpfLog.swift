import CLibbpf
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Captures libbpf's messages (including the verifier log it prints when a program is rejected)
/// so a failed load can say why, instead of libbpf writing to stderr.
enum LibbpfLog {
    static let lines = Mutex<[String]>([])
    static let maxLines = 4000
    static let installed = Mutex(false)

    static func install() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            _ = libbpf_set_print { level, format, args in
                guard let format, let args, level != LIBBPF_DEBUG else { return 0 }
                // Large: libbpf prints a rejected program's whole verifier log as one message, and
                // the reason is at its end.
                var buffer = [CChar](repeating: 0, count: 1 << 20)
                _ = vsnprintf(&buffer, buffer.count, format, args)
                let length = buffer.firstIndex(of: 0) ?? buffer.count
                let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                LibbpfLog.lines.withLock { lines in
                    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                        lines.append(String(line))
                    }
                    if lines.count > LibbpfLog.maxLines { lines.removeFirst(lines.count - LibbpfLog.maxLines) }
                }
                return 0
            }
        }
    }

    /// Forgets what was captured, before an operation whose failure we want to explain.
    static func reset() { lines.withLock { $0.removeAll() } }

    /// The last `count` lines captured since the last reset.
    static func tail(_ count: Int) -> [String] {
        lines.withLock { Array($0.suffix(count)) }
    }
}
