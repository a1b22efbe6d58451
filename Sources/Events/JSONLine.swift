import Containers
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// The JSON Lines encoder behind `JSONRenderer` and `-o json`: appends an event's object to a byte
/// buffer. It runs once per event on the hot path of every gadget (hundreds of thousands per
/// second), so it writes bytes, not Strings, and keeps the last container's object and the last
/// second's time prefix, which consecutive events nearly always share.
public struct JSONLine {
    public var bytes: [UInt8] = []
    private var containerCache: (container: Container, bytes: [UInt8])?
    private var secondCache: (second: Int64, prefix: [UInt8])?

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// One object, without the newline.
    public mutating func append(_ event: Event) {
        raw("{\"time\":\"")
        time(event.timestamp)
        raw("\",\"source\":")
        quote(event.source)
        if let container = event.container {
            raw(",\"container\":")
            // Same container as the last event (compared by identity, not by every label: cheap).
            if let cached = containerCache, cached.container.cgroupID == container.cgroupID,
               cached.container.id == container.id, cached.container.name == container.name {
                bytes.append(contentsOf: cached.bytes)
            } else {
                let object = Array(JSONRenderer.object(container).utf8)
                containerCache = (container, object)
                bytes.append(contentsOf: object)
            }
        }
        let p = event.process
        raw(",\"pid\":"); signed(Int64(p.pid))
        raw(",\"tid\":"); signed(Int64(p.tid))
        raw(",\"ppid\":"); signed(Int64(p.ppid))
        raw(",\"uid\":"); unsigned(UInt64(p.uid))
        raw(",\"gid\":"); unsigned(UInt64(p.gid))
        raw(",\"comm\":"); quote(p.comm)
        raw(",\"cgroup_id\":"); unsigned(event.cgroupID)
        raw(",\"mntns_id\":"); unsigned(event.mountNamespaceID)
        for (name, value) in event.fields {
            bytes.append(0x2C) // ,
            quote(name)
            bytes.append(0x3A) // :
            switch value {
            case .int(let v): signed(v)
            case .uint(let v): unsigned(v)
            case .string(let s): quote(s)
            case .bool(let b): raw(b ? "true" : "false")
            case .strings(let list, let truncated):
                bytes.append(0x5B) // [
                for (index, item) in list.enumerated() {
                    if index > 0 { bytes.append(0x2C) }
                    quote(item)
                }
                bytes.append(0x5D) // ]
                bytes.append(0x2C)
                quote(name + "_truncated")
                raw(truncated ? ":true" : ":false")
            case .result(let r):
                signed(r)
                if r < 0 {
                    bytes.append(0x2C)
                    if name == "ret" { raw("\"error\"") } else { quote(name + "_error") }
                    bytes.append(0x3A)
                    quote(Errno(rawValue: Int32(clamping: -r)).name)
                }
            }
        }
        bytes.append(0x7D) // }
    }

    @inline(__always)
    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func unsigned(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes: room for 20 digits
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

    mutating func signed(_ value: Int64) {
        if value < 0 {
            bytes.append(0x2D)
            unsigned(UInt64(bitPattern: 0 &- value))
        } else {
            unsigned(UInt64(value))
        }
    }

    /// RFC 3339 in UTC with nanoseconds, as `TimeText.rfc3339`; the date part is computed once a second.
    mutating func time(_ nanoseconds: Int64) {
        let second = nanoseconds / 1_000_000_000
        if secondCache?.second != second {
            let text = TimeText.rfc3339(second * 1_000_000_000)
            // "2026-11-22T14:03:07." : everything before the nanoseconds.
            secondCache = (second, Array(text.utf8.prefix(20)))
        }
        bytes.append(contentsOf: secondCache!.prefix)
        var nanos = UInt64(nanoseconds % 1_000_000_000)
        var digits: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            for index in stride(from: 8, through: 0, by: -1) {
                buffer[index] = 0x30 &+ UInt8(nanos % 10)
                nanos /= 10
            }
            bytes.append(contentsOf: buffer.prefix(9))
        }
        bytes.append(0x5A) // Z
    }

    /// A JSON string literal; control characters are escaped, never passed raw.
    mutating func quote(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            var clean = utf8.startIndex
            for index in utf8.indices {
                let b = utf8[index]
                guard b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index]))
                clean = index + 1
                switch b {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    raw("\\u00")
                    bytes.append(Self.hex[Int(b >> 4)])
                    bytes.append(Self.hex[Int(b & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        bytes.append(0x22)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}
