import CLibbpf
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// A map of a loaded object, with typed lookup, update, delete and iteration. Keys and values are
/// plain structs laid out like their C counterparts; sizes are checked against the map's.
public struct BPFMap: @unchecked Sendable {
    public let name: String
    let handle: OpaquePointer
    /// Keeps the object (and so the map's fd) alive.
    let owner: BPFObject

    init(name: String, handle: OpaquePointer, owner: BPFObject) {
        self.name = name
        self.handle = handle
        self.owner = owner
    }

    public var fileDescriptor: Int32 { bpf_map__fd(handle) }
    public var keySize: Int { Int(bpf_map__key_size(handle)) }
    public var valueSize: Int { Int(bpf_map__value_size(handle)) }
    public var maxEntries: Int { Int(bpf_map__max_entries(handle)) }

    public enum UpdateMode: UInt64, Sendable {
        case any = 0       // BPF_ANY
        case noExist = 1   // BPF_NOEXIST
        case exist = 2     // BPF_EXIST
    }

    private func checkSizes<K, V>(_ key: K.Type, _ value: V.Type, perCPU: Bool = false) {
        precondition(MemoryLayout<K>.size == keySize, "\(name): key is \(keySize) bytes, not \(MemoryLayout<K>.size)")
        if !perCPU {
            precondition(MemoryLayout<V>.size == valueSize, "\(name): value is \(valueSize) bytes, not \(MemoryLayout<V>.size)")
        }
    }

    /// The value at `key`, or nil when there is none.
    public func lookup<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as: V.Type = V.self) throws(SondeError) -> V? {
        checkSizes(K.self, V.self)
        var key = key
        let value = UnsafeMutablePointer<V>.allocate(capacity: 1)
        defer { value.deallocate() }
        let rc = bpf_map_lookup_elem(fileDescriptor, &key, value)
        if rc == 0 { return value.pointee }
        let error = Errno.current
        if error == .notFound { return nil }
        throw SondeError.system("lookup in map \(name)", error)
    }

    /// Every CPU's value at `key` of a per-CPU map (the kernel pads each to 8 bytes).
    public func lookupPerCPU<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as: V.Type = V.self) throws(SondeError) -> [V] {
        checkSizes(K.self, V.self, perCPU: true)
        let cpus = Int(libbpf_num_possible_cpus())
        let stride = (MemoryLayout<V>.size + 7) & ~7
        var key = key
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: stride * cpus, alignment: 8)
        defer { buffer.deallocate() }
        let rc = bpf_map_lookup_elem(fileDescriptor, &key, buffer.baseAddress)
        if rc != 0 {
            let error = Errno.current
            if error == .notFound { return [] }
            throw SondeError.system("lookup in map \(name)", error)
        }
        return (0..<cpus).map { buffer.loadUnaligned(fromByteOffset: $0 * stride, as: V.self) }
    }

    public func update<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, _ value: V, mode: UpdateMode = .any) throws(SondeError) {
        checkSizes(K.self, V.self)
        var key = key
        var value = value
        try systemCall("update of map \(name)") { bpf_map_update_elem(fileDescriptor, &key, &value, mode.rawValue) }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    public func delete<K: BitwiseCopyable>(_ key: K) throws(SondeError) -> Bool {
        precondition(MemoryLayout<K>.size == keySize)
        var key = key
        if bpf_map_delete_elem(fileDescriptor, &key) == 0 { return true }
        let error = Errno.current
        if error == .notFound { return false }
        throw SondeError.system("delete from map \(name)", error)
    }

    /// All keys, in the map's order. Entries added or removed meanwhile may or may not be seen.
    public func keys<K: BitwiseCopyable>(as: K.Type = K.self) throws(SondeError) -> [K] {
        precondition(MemoryLayout<K>.size == keySize)
        var result: [K] = []
        let current = UnsafeMutablePointer<K>.allocate(capacity: 1)
        let next = UnsafeMutablePointer<K>.allocate(capacity: 1)
        defer { current.deallocate(); next.deallocate() }
        var previous: UnsafeMutablePointer<K>? = nil
        while true {
            if bpf_map_get_next_key(fileDescriptor, previous, next) != 0 {
                let error = Errno.current
                if error == .notFound { return result }
                throw SondeError.system("iteration of map \(name)", error)
            }
            result.append(next.pointee)
            current.pointee = next.pointee
            previous = current
        }
    }
}
