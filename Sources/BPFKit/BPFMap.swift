import CLibbpf
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// A BPF map, by its fd, with typed lookup, update, delete and iteration. Keys and values are plain
/// structs laid out like their C counterparts; sizes are checked against the map's.
/// The map stays open as long as any copy of this value lives.
public struct BPFMap: @unchecked Sendable {
    public let name: String
    public let fileDescriptor: Int32
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: Int
    public let type: UInt32
    /// Keeps the fd open: the BPFObject that owns the map, or an OwnedDescriptor.
    let keepAlive: AnyObject

    init(name: String, handle: OpaquePointer, owner: BPFObject) {
        self.name = name
        fileDescriptor = bpf_map__fd(handle)
        keySize = Int(bpf_map__key_size(handle))
        valueSize = Int(bpf_map__value_size(handle))
        maxEntries = Int(bpf_map__max_entries(handle))
        type = bpf_map__type(handle).rawValue
        keepAlive = owner
    }

    /// Wraps an fd this value then owns (closed when the last copy goes).
    init(owning fd: Int32, name: String) throws(SondeError) {
        let owned = OwnedDescriptor(fd)
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try negativeErrnoCall("reading the info of map \(name)") { bpf_obj_get_info_by_fd(fd, &info, &length) }
        self.name = name
        fileDescriptor = fd
        keySize = Int(info.key_size)
        valueSize = Int(info.value_size)
        maxEntries = Int(info.max_entries)
        type = info.type
        keepAlive = owned
    }

    /// A map pinned in bpffs by an earlier sonde process (bpf_obj_get).
    public static func pinned(at path: String) throws(SondeError) -> BPFMap {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw SondeError.system("cannot open the pinned map \(path)", Errno.current) }
        return try BPFMap(owning: fd, name: path)
    }

    /// A map by its kernel id (as a map-in-map lookup returns it; bpf_map_get_fd_by_id).
    public static func byID(_ id: UInt32, name: String) throws(SondeError) -> BPFMap {
        let fd = bpf_map_get_fd_by_id(id)
        guard fd >= 0 else { throw SondeError.system("cannot open map \(name) (id \(id))", Errno.current) }
        return try BPFMap(owning: fd, name: name)
    }

    /// Creates a map outside any object (bpf_map_create), e.g. an inner map for a map-in-map.
    public static func create(type: bpf_map_type, name: String, keySize: Int, valueSize: Int,
                              maxEntries: Int, flags: UInt32 = 0) throws(SondeError) -> BPFMap {
        var opts = bpf_map_create_opts()
        opts.sz = MemoryLayout<bpf_map_create_opts>.size
        opts.map_flags = flags
        let fd = name.withCString { bpf_map_create(type, $0, UInt32(keySize), UInt32(valueSize), UInt32(maxEntries), &opts) }
        guard fd >= 0 else {
            throw SondeError(.bpfLoadFailed, "cannot create map \(name) (\(valueSize) bytes x \(maxEntries))",
                             errno: Errno(rawValue: -fd))
        }
        return try BPFMap(owning: fd, name: name)
    }

    /// Pins the map in bpffs so it outlives this process (bpf_obj_pin).
    public func pin(at path: String) throws(SondeError) {
        try negativeErrnoCall("cannot pin map \(name) at \(path)") { bpf_obj_pin(fileDescriptor, path) }
    }

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

    /// Pushes onto a queue or stack map (BPF_MAP_TYPE_QUEUE / STACK take no key).
    public func push<V: BitwiseCopyable>(_ value: V) throws(SondeError) {
        precondition(MemoryLayout<V>.size == valueSize)
        var value = value
        try systemCall("push onto map \(name)") { bpf_map_update_elem(fileDescriptor, nil, &value, 0) }
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

/// An fd closed when the last reference goes.
final class OwnedDescriptor: @unchecked Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// A shared mapping of an mmapable BPF array (BPF_F_MMAPABLE): the kernel's memory, read (and
/// with `writable`, changed) without a syscall per element, while programs keep writing it.
public final class MappedArray: @unchecked Sendable {
    public let map: BPFMap
    public let bytes: UnsafeRawBufferPointer
    /// Distance between elements: the value size rounded up to 8.
    public let stride: Int

    public init(_ map: BPFMap, writable: Bool = false) throws(SondeError) {
        let stride = (map.valueSize + 7) & ~7
        let length = stride * map.maxEntries
        let address = mmap(nil, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, map.fileDescriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw SondeError.system("cannot map \(map.name) into memory", Errno.current)
        }
        self.map = map
        self.stride = stride
        bytes = UnsafeRawBufferPointer(start: address, count: length)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }

    /// The bytes of element `index`.
    public func element(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[(index * stride)..<(index * stride + map.valueSize)])
    }

    /// The 64-bit word at `offset` of element `index`, for atomics shared with the programs (only
    /// on a mapping made `writable`).
    public func word(_ index: Int, offset: Int = 0) -> UnsafeMutablePointer<UInt64> {
        precondition(offset % 8 == 0 && offset + 8 <= map.valueSize)
        return UnsafeMutableRawPointer(mutating: bytes.baseAddress! + index * stride + offset)
            .assumingMemoryBound(to: UInt64.self)
    }
}
