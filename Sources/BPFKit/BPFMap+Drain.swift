import CLibbpf
import LinuxKit

extension BPFMap {
    /// Removes `key` and returns the value it held, in one step (BPF_MAP_LOOKUP_AND_DELETE_ELEM,
    /// hash maps since Linux 5.14): an update between a lookup and a delete would be lost.
    /// nil when the key was not there.
    public func lookupAndDelete<K: BitwiseCopyable, V: BitwiseCopyable>(_ key: K, as: V.Type = V.self) throws(SondeError) -> V? {
        precondition(MemoryLayout<K>.size == keySize && MemoryLayout<V>.size == valueSize,
                     "\(name): key/value sizes \(keySize)/\(valueSize) differ from \(MemoryLayout<K>.size)/\(MemoryLayout<V>.size)")
        var key = key
        let value = UnsafeMutablePointer<V>.allocate(capacity: 1)
        defer { value.deallocate() }
        if bpf_map_lookup_and_delete_elem(fileDescriptor, &key, value) == 0 { return value.pointee }
        let error = Errno.current
        if error == .notFound { return nil }
        throw SondeError.system("lookup and delete in map \(name)", error)
    }

    /// Every entry, each removed as it is read: what a top gadget aggregated since the last drain.
    public func drain<K: BitwiseCopyable, V: BitwiseCopyable>(keys: K.Type, values: V.Type) throws(SondeError) -> [(key: K, value: V)] {
        var entries: [(key: K, value: V)] = []
        for key in try self.keys(as: K.self) {
            if let value = try lookupAndDelete(key, as: V.self) { entries.append((key, value)) }
        }
        return entries
    }
}
