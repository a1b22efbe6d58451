/// The byte buffer a formatted line is written into: appends without Foundation, regexes or
/// intermediate Strings, so that dumping tens of thousands of records stays cheap.
struct Output {
    var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    @inline(__always)
    mutating func byte(_ b: UInt8) { bytes.append(b) }

    @inline(__always)
    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(bytes other: [UInt8]) { bytes.append(contentsOf: other) }

    mutating func spaces(_ n: Int) {
        if n > 0 { bytes.append(contentsOf: repeatElement(0x20, count: n)) }
    }

    /// Unsigned decimal.
    mutating func unsigned(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                buffer[n] = 0x30 &+ UInt8(v % 10)
                v /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                bytes.append(buffer[n])
            }
        }
    }

    /// Signed decimal.
    mutating func signed(_ value: Int64) {
        if value < 0 {
            bytes.append(0x2D)
            unsigned(UInt64(bitPattern: 0 &- value))
        } else {
            unsigned(UInt64(value))
        }
    }

    /// Lowercase hex digits without a prefix.
    mutating func hexDigits(_ value: UInt64, minimumWidth: Int = 1) {
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) == 0 && shift / 4 >= minimumWidth { shift -= 4 }
        while shift >= 0 {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            bytes.append(nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble)
            shift -= 4
        }
    }

    /// C's `%#x`: `0` for zero, else `0x1f`.
    mutating func hex(_ value: UInt64) {
        if value == 0 {
            bytes.append(0x30)
        } else {
            append("0x")
            hexDigits(value)
        }
    }

    /// A pointer as strace prints it: `NULL` or `0x7ffd...`.
    mutating func pointer(_ value: UInt64) {
        if value == 0 { append("NULL") } else { append("0x"); hexDigits(value) }
    }

    /// Octal digits without a prefix.
    mutating func octalDigits(_ value: UInt64, minimumWidth: Int = 1) {
        var shift = 63
        while shift > 0 && (value >> UInt64(shift)) == 0 && shift / 3 >= minimumWidth { shift -= 3 }
        while shift >= 0 {
            bytes.append(0x30 &+ UInt8((value >> UInt64(shift)) & 7))
            shift -= 3
        }
    }

    /// C's `%#03o`, strace's mode format: `000`, `007`, `0644`, `04755`.
    mutating func mode(_ value: UInt64) {
        bytes.append(0x30)
        octalDigits(value, minimumWidth: 2)
    }

    /// C's `%#o`: `0` for zero, else `022`.
    mutating func octal(_ value: UInt64) {
        bytes.append(0x30)
        if value != 0 { octalDigits(value) }
    }

    func string() -> String { String(decoding: bytes, as: UTF8.self) }
}
