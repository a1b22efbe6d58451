import Containers
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// The JSON Lines encoder behind `JSONRenderer` and `-o json`: appends an event's object to a byte
/// buffer. It runs once per event on the hot path of every gadget (hundreds of thousands per
/// second), so it writes bytes into memory it manages itself (no per-append uniqueness or capacity
/// checks of an Array), and keeps the last container's object and the last second's time prefix,
/// which consecutive events nearly always share. Not thread-safe: one writer at a time.
public final class JSONLine {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0
    // The last container's object, keyed by what identifies it (copying a Container to compare it
    // would retain a dozen strings and dictionaries per event).
    private var cachedCgroupID: UInt64 = 0
    private var cachedContainerID = ""
    private var cachedContainerName = ""
    private var cachedContainerBytes: [UInt8] = []
    private var cachedSecond: Int64 = .min
    private var cachedSecondPrefix: [UInt8] = []

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 64)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// A copy of what was written.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    public var isEmpty: Bool { count == 0 }

    /// The written bytes, valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: count))
    }

    public func removeAll() { count = 0 }

    /// Appends text as it is (a table line, say).
    public func append(text: String) {
        var text = text
        text.withUTF8 { copy($0) }
    }

    public func newline() { byte(0x0A) }

    @inline(__always)
    private func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    @inline(__always)
    private func byte(_ b: UInt8) {
        reserve(1)
        storage[count] = b
        count += 1
    }

    @inline(__always)
    private func copy(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress, source.count > 0 else { return }
        reserve(source.count)
        (storage + count).update(from: base, count: source.count)
        count += source.count
    }

    private func copy(_ source: [UInt8]) {
        source.withUnsafeBufferPointer { copy($0) }
    }

    /// One object, without the newline.
    public func append(_ event: Event) {
        raw("{\"time\":\"")
        time(event.timestamp)
        raw("\",\"source\":")
        quote(event.source)
        if event.container != nil {
            raw(",\"container\":")
            if cachedContainerBytes.isEmpty || event.container!.cgroupID != cachedCgroupID
                || event.container!.id != cachedContainerID || event.container!.name != cachedContainerName {
                cachedCgroupID = event.container!.cgroupID
                cachedContainerID = event.container!.id
                cachedContainerName = event.container!.name
                cachedContainerBytes = Array(JSONRenderer.object(event.container!).utf8)
            }
            copy(cachedContainerBytes)
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
            byte(0x2C) // ,
            quote(name)
            byte(0x3A) // :
            switch value {
            case .int(let v): signed(v)
            case .uint(let v): unsigned(v)
            case .string(let s): quote(s)
            case .bool(let b): raw(b ? "true" : "false")
            case .strings(let list, let truncated):
                byte(0x5B) // [
                for (index, item) in list.enumerated() {
                    if index > 0 { byte(0x2C) }
                    quote(item)
                }
                byte(0x5D) // ]
                byte(0x2C)
                quote(name + "_truncated")
                raw(truncated ? ":true" : ":false")
            case .result(let r):
                signed(r)
                if r < 0 {
                    byte(0x2C)
                    if name == "ret" { raw("\"error\"") } else { quote(name + "_error") }
                    byte(0x3A)
                    quote(Errno(negativeResult: r).name)
                }
            }
        }
        byte(0x7D) // }
    }

    @inline(__always)
    func raw(_ s: StaticString) {
        s.withUTF8Buffer { copy($0) }
    }

    func unsigned(_ value: UInt64) {
        reserve(20)
        // Locals, not the stored properties, in the loops: a class's stored properties are checked
        // for exclusive access at run time on every touch.
        let out = storage + count
        if value < 10 {
            out[0] = 0x30 &+ UInt8(value)
            count += 1
            return
        }
        var digits = 0
        var v = value
        while v > 0 {
            digits += 1
            v /= 10
        }
        v = value
        var index = digits - 1
        while v > 0 {
            out[index] = 0x30 &+ UInt8(v % 10)
            v /= 10
            index -= 1
        }
        count += digits
    }

    func signed(_ value: Int64) {
        if value < 0 {
            byte(0x2D)
            unsigned(UInt64(bitPattern: 0 &- value))
        } else {
            unsigned(UInt64(value))
        }
    }

    /// RFC 3339 in UTC with nanoseconds, as `TimeText.rfc3339`; the date part is computed once a second.
    func time(_ nanoseconds: Int64) {
        let second = nanoseconds / 1_000_000_000
        if cachedSecond != second {
            // "2026-11-22T14:03:07." : everything before the nanoseconds.
            cachedSecondPrefix = Array(TimeText.rfc3339(second * 1_000_000_000).utf8.prefix(20))
            cachedSecond = second
        }
        copy(cachedSecondPrefix)
        reserve(10)
        let out = storage + count
        var nanos = UInt64(nanoseconds % 1_000_000_000)
        for index in stride(from: 8, through: 0, by: -1) {
            out[index] = 0x30 &+ UInt8(nanos % 10)
            nanos /= 10
        }
        out[9] = 0x5A // Z
        count += 10
    }

    /// A JSON string literal; control characters are escaped, never passed raw.
    func quote(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            // At most 6 bytes out per byte in (\u00XX), plus the quotes.
            reserve(utf8.count * 6 + 2)
            let out = storage
            var n = count
            out[n] = 0x22
            n += 1
            for b in utf8 {
                if b >= 0x20 && b != 0x22 && b != 0x5C && b != 0x7F {
                    out[n] = b
                    n += 1
                    continue
                }
                out[n] = 0x5C // backslash
                switch b {
                case 0x22: out[n + 1] = 0x22; n += 2
                case 0x5C: out[n + 1] = 0x5C; n += 2
                case 0x0A: out[n + 1] = 0x6E; n += 2 // n
                case 0x0D: out[n + 1] = 0x72; n += 2 // r
                case 0x09: out[n + 1] = 0x74; n += 2 // t
                default:
                    out[n + 1] = 0x75 // u
                    out[n + 2] = 0x30
                    out[n + 3] = 0x30
                    out[n + 4] = Self.hex[Int(b >> 4)]
                    out[n + 5] = Self.hex[Int(b & 0xF)]
                    n += 6
                }
            }
            out[n] = 0x22
            count = n + 1
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
}
