import CLibbpf
import Foundation
import LinuxKit
#if canImport(Glibc)
import Glibc
#endif

/// One BPF object file through its life: open from memory -> set `const volatile` constants and
/// map sizes -> load (verify) -> attach. Closing the object detaches and frees everything that is
/// not pinned.
///
/// Not thread-safe before `load()`; afterwards maps may be used from any thread (each map
/// operation is one bpf(2) call).
public final class BPFObject: @unchecked Sendable {
    public let name: String
    let object: OpaquePointer
    /// bpf_object__open_mem does not copy the ELF image: it must outlive the object.
    private let image: UnsafeMutableRawBufferPointer
    /// Attached programs: their names and links.
    private var links: [(program: String, link: OpaquePointer)] = []
    public private(set) var isLoaded = false

    /// Opens an ELF object held in memory (bpf_object__open_mem).
    public init(name: String, bytes: [UInt8]) throws(SondeError) {
        LibbpfLog.install()
        self.name = name
        let image = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        image.copyBytes(from: bytes)
        self.image = image
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let opened: OpaquePointer? = name.withCString { cname in
            opts.object_name = cname
            return bpf_object__open_mem(image.baseAddress, image.count, &opts)
        }
        guard let opened else {
            let error = Errno.current
            image.deallocate()
            throw SondeError(.bpfLoadFailed, "cannot open BPF object \(name)", errno: error,
                             details: LibbpfLog.tail(5))
        }
        object = opened
    }

    deinit {
        for (_, link) in links { bpf_link__destroy(link) }
        bpf_object__close(object)
        image.deallocate()
    }

    // MARK: before load

    /// Sets a `const volatile` global of the program (it lives in .rodata and becomes constant at
    /// load, so the verifier prunes branches that depend on it). Only valid before `load()`.
    public func setConstant<T: BitwiseCopyable>(_ variable: String, to value: T) throws(SondeError) {
        precondition(!isLoaded, "constants are frozen once the object is loaded")
        let (offset, size) = try rodataVariable(variable)
        guard size == MemoryLayout<T>.size else {
            throw SondeError(.invalidArgument,
                             "\(name): \(variable) is \(size) bytes, not \(MemoryLayout<T>.size)")
        }
        guard let map = internalMap(suffix: ".rodata") else {
            throw SondeError(.notFound, "\(name) has no .rodata section")
        }
        var mapSize = 0
        guard let data = bpf_map__initial_value(map, &mapSize), offset + size <= mapSize else {
            throw SondeError(.bpfLoadFailed, "\(name): cannot reach the initial value of .rodata")
        }
        // Before load this is libbpf's private copy of .rodata, which it hands to the kernel.
        let destination = UnsafeMutableRawPointer(mutating: data) + offset
        withUnsafeBytes(of: value) { bytes in
            destination.copyMemory(from: bytes.baseAddress!, byteCount: size)
        }
    }

    /// Sets the number of entries (for ring buffers: the size in bytes) of a map before load.
    public func setMaxEntries(map mapName: String, _ entries: UInt32) throws(SondeError) {
        precondition(!isLoaded)
        guard let map = bpf_object__find_map_by_name(object, mapName) else {
            throw SondeError(.notFound, "\(name) has no map \(mapName)")
        }
        try negativeErrnoCall("\(name): cannot size map \(mapName)") { bpf_map__set_max_entries(map, entries) }
    }

    /// Gives a map-in-map the inner map it is checked against: every inner map must then match
    /// `template` exactly (size included), which lets the verifier inline lookups in them. (With
    /// BPF_F_INNER_MAP sizes may differ and each lookup is a helper call.) libbpf 1.1 cannot resize
    /// the template it builds from BTF, hence a map of our own; keep it open until load().
    public func setInnerMap(map mapName: String, template: BPFMap) throws(SondeError) {
        precondition(!isLoaded)
        guard let map = bpf_object__find_map_by_name(object, mapName) else {
            throw SondeError(.notFound, "\(name) has no map \(mapName)")
        }
        try negativeErrnoCall("\(name): cannot set the inner map of \(mapName)") {
            bpf_map__set_inner_map_fd(map, template.fileDescriptor)
        }
    }

    /// Makes a map pinned at `path`: reused when an earlier process pinned a compatible one there,
    /// else created and pinned at load.
    public func setPinPath(map mapName: String, _ path: String) throws(SondeError) {
        precondition(!isLoaded)
        guard let map = bpf_object__find_map_by_name(object, mapName) else {
            throw SondeError(.notFound, "\(name) has no map \(mapName)")
        }
        try negativeErrnoCall("\(name): cannot set the pin path of \(mapName)") { bpf_map__set_pin_path(map, path) }
    }

    /// Keeps a program from loading (when a feature is turned off, or a kernel lacks its hook).
    public func setAutoload(program programName: String, _ enabled: Bool) throws(SondeError) {
        guard let program = bpf_object__find_program_by_name(object, programName) else {
            throw SondeError(.notFound, "\(name) has no program \(programName)")
        }
        try negativeErrnoCall("\(name): cannot set autoload of \(programName)") {
            bpf_program__set_autoload(program, enabled)
        }
    }

    /// Offset and size of a variable in .rodata, found through the object's BTF.
    private func rodataVariable(_ variable: String) throws(SondeError) -> (offset: Int, size: Int) {
        guard let btf = bpf_object__btf(object) else {
            throw SondeError(.bpfLoadFailed, "\(name) carries no BTF: it was built without -g")
        }
        let section = btf__find_by_name(btf, ".rodata")
        guard section > 0, let datasec = btf__type_by_id(btf, UInt32(section)), btf_is_datasec(datasec) else {
            throw SondeError(.notFound, "\(name) has no constants (no .rodata)")
        }
        let infos = btf_var_secinfos(datasec)!
        for index in 0..<Int(btf_vlen(datasec)) {
            let info = infos[index]
            guard let varType = btf__type_by_id(btf, info.type),
                  let cname = btf__name_by_offset(btf, varType.pointee.name_off) else { continue }
            if String(cString: cname) == variable {
                return (Int(info.offset), Int(info.size))
            }
        }
        throw SondeError(.notFound, "\(name) has no constant \(variable)")
    }

    private func internalMap(suffix: String) -> OpaquePointer? {
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if bpf_map__is_internal(current), let cname = bpf_map__name(current),
               String(cString: cname).hasSuffix(suffix) {
                return current
            }
            map = bpf_object__next_map(object, current)
        }
        return nil
    }

    // MARK: load and attach

    /// Creates the maps and verifies and loads the programs. A rejection carries the tail of the
    /// verifier's log.
    public func load() throws(SondeError) {
        try checkHooks()
        LibbpfLog.reset()
        let rc = bpf_object__load(object)
        guard rc == 0 else {
            let error = Errno(rawValue: -rc)
            let log = LibbpfLog.tail(25)
            switch error.rawValue {
            case EPERM:
                throw SondeError(.bpfLoadFailed, "the kernel refused to load \(name)", 
                                 hint: "sonde needs root, and a kernel that allows BPF (check kernel.unprivileged_bpf_disabled and lockdown)",
                                 errno: error, details: log)
            default:
                let oldest = KernelBTF.oldestSupported
                let hint = KernelBTF.isOlderThanSupported
                    ? "this kernel (\(KernelBTF.release)) is older than the oldest sonde supports, \(oldest.major).\(oldest.minor) (docs/kernels.md)"
                    : "the kernel (\(KernelBTF.release)) rejected a program; libbpf's and the verifier's log follow"
                throw SondeError(.bpfLoadFailed, "cannot load BPF object \(name)", hint: hint, errno: error, details: log)
            }
        }
        isLoaded = true
    }

    /// The hooks the object's programs attach to, in the sections that name them.
    public var hooks: [String] {
        var result: [String] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            if bpf_program__autoload(current) { result.append(String(cString: bpf_program__section_name(current))) }
            program = bpf_object__next_program(object, current)
        }
        return result
    }

    /// The tracepoints this object needs that the running kernel lacks ("tp_btf/cap_capable",
    /// "tracepoint/sock/sock_send_length"): tracepoints are added in every release, and libbpf
    /// would report a missing one as a failed load.
    public var missingHooks: [String] {
        hooks.filter { section in
            if section.hasPrefix("tp_btf/") {
                return !KernelBTF.tracepoints.isEmpty && KernelBTF.tracepoints[String(section.dropFirst(7))] == nil
            }
            if section.hasPrefix("tracepoint/") {
                return KernelBTF.hasTracefsEvent(String(section.dropFirst(11))) == false
            }
            return false
        }
    }

    private func checkHooks() throws(SondeError) {
        let missing = missingHooks
        guard !missing.isEmpty else { return }
        let names = missing.map { $0.split(separator: "/").dropFirst().joined(separator: ":") }
        throw SondeError(.kernelFeatureMissing,
                         "\(name) needs the tracepoint\(names.count > 1 ? "s" : "") \(names.joined(separator: ", ")), which this kernel (\(KernelBTF.release)) does not have",
                         hint: "a newer kernel has \(names.count > 1 ? "them" : "it"); docs/kernels.md lists what works on which kernel")
    }

    /// Attaches every loaded program at the hook its section names (tracepoint/..., tp_btf/...,
    /// raw_tracepoint/...), except those in `except` (programs that are tail-called, such as the
    /// syscall dispatcher's consumers). The links live as long as the object.
    public func attachAll(except: Set<String> = []) throws(SondeError) {
        precondition(isLoaded, "load() before attachAll()")
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            defer { program = bpf_object__next_program(object, current) }
            guard bpf_program__autoload(current) else { continue }
            let programName = String(cString: bpf_program__name(current))
            if except.contains(programName) { continue }
            let section = String(cString: bpf_program__section_name(current))
            LibbpfLog.reset()
            guard let link = bpf_program__attach(current) else {
                let error = Errno.current
                throw SondeError(.bpfAttachFailed, "cannot attach \(name).\(programName) at \(section)",
                                 hint: error.rawValue == ENOENT ? "this kernel has no such tracepoint" : nil,
                                 errno: error, details: LibbpfLog.tail(5))
            }
            links.append((programName, link))
        }
    }

    /// Pins every attached link in `directory` (named after its program), so the programs stay
    /// attached after this process exits; removing the pins detaches them.
    public func pinLinks(in directory: String) throws(SondeError) {
        for (program, link) in links {
            let path = directory + "/link_" + program
            try negativeErrnoCall("cannot pin link \(program) at \(path)") { bpf_link__pin(link, path) }
        }
    }

    /// A loaded program's file descriptor (owned by the object), for a program array.
    public func programFileDescriptor(_ programName: String) throws(SondeError) -> Int32 {
        precondition(isLoaded, "load() before asking for a program's fd")
        guard let program = bpf_object__find_program_by_name(object, programName) else {
            throw SondeError(.notFound, "\(name) has no program \(programName)")
        }
        let fd = bpf_program__fd(program)
        guard fd >= 0 else { throw SondeError(.notFound, "\(name): program \(programName) is not loaded") }
        return fd
    }

    /// The names of the object's maps (internal ones such as .rodata included).
    public var mapNames: [String] {
        var names: [String] = []
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            if let cname = bpf_map__name(current) { names.append(String(cString: cname)) }
            map = bpf_object__next_map(object, current)
        }
        return names
    }

    /// Removes every pin in `directory`, links first: that detaches the programs before their maps
    /// go (a map's pin removed first would leave a program writing to a map nobody can open).
    public static func removePins(in directory: String) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in entries.sorted(by: { $0.hasPrefix("link_") && !$1.hasPrefix("link_") }) {
            unlink(directory + "/" + name)
        }
    }

    // MARK: types

    /// Size and member offsets (bytes) of a struct as the compiler laid it out, from the object's
    /// BTF: lets user space check that it reads records the way the program writes them.
    public func structLayout(_ structName: String) -> (size: Int, offsets: [String: Int])? {
        guard let btf = bpf_object__btf(object) else { return nil }
        let id = btf__find_by_name(btf, structName)
        guard id > 0, let type = btf__type_by_id(btf, UInt32(id)), btf_is_struct(type),
              let members = btf_members(type) else { return nil }
        var offsets: [String: Int] = [:]
        for index in 0..<Int(btf_vlen(type)) {
            guard let cname = btf__name_by_offset(btf, members[index].name_off) else { continue }
            offsets[String(cString: cname)] = Int(btf_member_bit_offset(type, UInt32(index))) / 8
        }
        return (Int(type.pointee.size), offsets)
    }

    // MARK: maps

    /// A map of the object by its name in the C source.
    public func map(_ mapName: String) throws(SondeError) -> BPFMap {
        guard let map = bpf_object__find_map_by_name(object, mapName) else {
            throw SondeError(.notFound, "\(name) has no map \(mapName)")
        }
        return BPFMap(name: mapName, handle: map, owner: self)
    }
}
