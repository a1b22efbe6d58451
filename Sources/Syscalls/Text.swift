import LinuxKit

extension Output {
    /// A C string literal as strace writes one: `"..."` with \t \n \v \f \r \\ \" escapes, other
    /// unprintable bytes in octal (three digits only when an octal digit follows), or every byte as
    /// `\xNN` when `hex`; `...` after the closing quote when `more` data was not shown.
    mutating func quoted<C: RandomAccessCollection>(_ data: C, more: Bool, hex: Bool = false)
    where C.Element == UInt8, C.Index == Int {
        byte(0x22)
        var i = data.startIndex
        let end = data.endIndex
        while i < end {
            let c = data[i]
            if hex {
                append("\\x")
                hexDigits(UInt64(c), minimumWidth: 2)
                i += 1
                continue
            }
            switch c {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x09: append("\\t")
            case 0x0A: append("\\n")
            case 0x0B: append("\\v")
            case 0x0C: append("\\f")
            case 0x0D: append("\\r")
            case 0x20...0x7E: byte(c)
            default:
                byte(0x5C)
                let nextIsOctalDigit = i + 1 < end && data[i + 1] >= 0x30 && data[i + 1] <= 0x37
                if nextIsOctalDigit {
                    octalDigits(UInt64(c), minimumWidth: 3)
                } else {
                    octalDigits(UInt64(c))
                }
            }
            i += 1
        }
        byte(0x22)
        if more { append("...") }
    }

    /// Dotted quad.
    mutating func ipv4(_ b: ArraySlice<UInt8>) {
        var first = true
        for octet in b {
            if !first { byte(0x2E) }
            unsigned(UInt64(octet))
            first = false
        }
    }

    /// An IPv6 address as inet_ntop writes it: the longest run of two or more zero groups as `::`,
    /// IPv4-mapped and IPv4-compatible addresses with a dotted quad.
    mutating func ipv6(_ b: ArraySlice<UInt8>) {
        let base = b.startIndex
        var words = [UInt16](repeating: 0, count: 8)
        for i in 0..<8 { words[i] = UInt16(b[base + 2 * i]) << 8 | UInt16(b[base + 2 * i + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && words[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                let length = i - runStart
                if length > bestLength { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        for i in 0..<8 {
            if bestStart >= 0 && i >= bestStart && i < bestStart + bestLength {
                if i == bestStart { byte(0x3A) }
                continue
            }
            if i != 0 { byte(0x3A) }
            let embedsIPv4 = i == 6 && bestStart == 0 &&
                (bestLength == 6 || (bestLength == 7 && words[7] != 1) || (bestLength == 5 && words[5] == 0xFFFF))
            if embedsIPv4 {
                ipv4(b[(base + 12)..<(base + 16)])
                return
            }
            hexDigits(UInt64(words[i]))
        }
        if bestStart >= 0 && bestStart + bestLength == 8 { byte(0x3A) }
    }

    /// `2026-11-22T04:31:30+0000`, or with `.000000005` nanoseconds when they are not zero (UTC).
    mutating func isoDate(seconds: Int64, nanoseconds: Int64 = 0) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        padded(year, 4); byte(0x2D); padded(month, 2); byte(0x2D); padded(day, 2)
        byte(0x54)
        padded(rest / 3600, 2); byte(0x3A); padded(rest / 60 % 60, 2); byte(0x3A); padded(rest % 60, 2)
        if nanoseconds != 0 {
            byte(0x2E)
            padded(nanoseconds, 9)
        }
        append("+0000")
    }

    private mutating func padded(_ value: Int64, _ width: Int) {
        if value < 0 { byte(0x2D) }
        let v = UInt64(value.magnitude)
        var digits = 1
        var p: UInt64 = 10
        while v >= p && digits < 20 { digits += 1; p = p &* 10 }
        if digits < width { for _ in 0..<(width - digits) { byte(0x30) } }
        unsigned(v)
    }
}

/// `ENOENT (No such file or directory)`, cached once per errno (the text is the C library's, as
/// strace prints it).
enum ErrnoText {
    private static let cache: [[UInt8]] = (0..<200).map { Array(Errno(rawValue: Int32($0)).description.utf8) }

    /// The kernel's restart codes, which user space never sees: strace prints them with `?`.
    private static let restart: [Int64: StaticString] = [
        512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
        513: "ERESTARTNOINTR (To be restarted)",
        514: "ERESTARTNOHAND (To be restarted if no handler)",
        516: "ERESTART_RESTARTBLOCK (Interrupted by signal)",
    ]

    /// Writes ` -1 ENOENT (...)` or `? ERESTARTSYS (...)` for `errno`.
    static func write(_ errno: Int64, to out: inout Output) {
        if let text = restart[errno] {
            out.append("? ")
            out.append(text)
            return
        }
        out.append("-1 ")
        if errno >= 0 && errno < Int64(cache.count) {
            out.append(bytes: cache[Int(errno)])
        } else {
            out.append(Errno(rawValue: Int32(truncatingIfNeeded: errno)).description)
        }
    }
}

/// Little-endian reads from captured bytes (zero beyond the end).
extension Array where Element == UInt8 {
    @inline(__always)
    func u8(_ offset: Int) -> UInt64 { offset < count ? UInt64(self[offset]) : 0 }

    func u16(_ offset: Int) -> UInt64 { u8(offset) | u8(offset + 1) << 8 }

    func u32(_ offset: Int) -> UInt64 { u16(offset) | u16(offset + 2) << 16 }

    func u64(_ offset: Int) -> UInt64 { u32(offset) | u32(offset + 4) << 32 }

    func i32(_ offset: Int) -> Int64 { Int64(Int32(truncatingIfNeeded: u32(offset))) }

    func i64(_ offset: Int) -> Int64 { Int64(bitPattern: u64(offset)) }

    /// Big-endian 16 bits (ports).
    func be16(_ offset: Int) -> UInt64 { u8(offset) << 8 | u8(offset + 1) }

    /// Big-endian 32 bits (flow info).
    func be32(_ offset: Int) -> UInt64 { be16(offset) << 16 | be16(offset + 2) }

    func has(_ offset: Int, _ size: Int) -> Bool { offset + size <= count }
}
