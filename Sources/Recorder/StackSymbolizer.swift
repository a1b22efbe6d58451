import CSonde
import Containers
import Glibc
import LinuxKit

/// Names the frames of a crash stack from the files the thread had mapped, read inside its
/// container's root at dump time (ELF .symtab, else .dynsym).
///
/// The kernel names each frame's file by its build id. The file is looked for among the
/// executable, the files the recording shows the process opened (the dynamic loader opens every
/// library it maps), and the container's library directories, by reading each candidate's build
/// id note, until every build id is found.
///
/// Everything here comes from the container: the paths, the files behind them (which may have been
/// replaced since, or be FIFOs, devices, symlinks out of the root, or ELF files built to crash a
/// parser). Files are opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) below the root,
/// non-blocking, only regular files are read, by a parser that checks every bound (ELFImage), and
/// the library directories are read to a fixed number of candidates. A frame whose file is not
/// found keeps its build id and offset.
struct StackSymbolizer: ~Copyable {
    private let root: Int32?
    private var images: [String: ELFImage?] = [:]
    /// Build id (hex) -> path, for those found.
    private var found: [String: String] = [:]
    private var searchedLibraries = false

    /// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: every path, symlinks included, stays below the root.
    private static let resolveInRoot: UInt64 = 0x10 | 0x02
    static let libraryDirectories = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/lib/x86_64-linux-gnu",
                                     "/usr/lib/x86_64-linux-gnu", "/usr/local/lib"]
    /// Library files read for their build id at most, per dump (each read is bounded too: the
    /// program headers and at most 1 MiB of notes).
    static let maxLibraryCandidates = 500

    init(container: Container) {
        root = Self.openRoot(of: container)
    }

    deinit {
        if let root { close(root) }
    }

    /// The stack with what the files say about each frame. `opened`: paths the process opened.
    mutating func symbolize(_ stack: CrashStack, opened: [String]) -> CrashStack {
        guard root != nil else { return stack }
        let candidates = opened
        // The process's own executable first: a stripped copy and its original share a build id.
        let executable = stack.executable.flatMap { $0.hasPrefix("...") ? nil : $0 }
        let executableID = executable.flatMap { buildIDText(of: $0) }
        var named = stack
        for index in named.frames.indices {
            let frame = named.frames[index]
            guard let buildID = frame.buildIDText, let fileOffset = frame.fileOffset,
                  let path = buildID == executableID ? executable : path(of: buildID, candidates: candidates),
                  let image = image(path) else { continue }
            named.frames[index].module = path
            named.frames[index].moduleAddress = image.virtualAddress(fileOffset: fileOffset)
            if let symbol = image.symbol(fileOffset: fileOffset) {
                named.frames[index].symbol = symbol.name
                named.frames[index].symbolOffset = symbol.offset
            }
        }
        return named
    }

    /// The file with this build id: among the candidates, else in the library directories.
    private mutating func path(of buildID: String, candidates: [String]) -> String? {
        if let path = found[buildID] { return path }
        for path in candidates where !found.values.contains(path) {
            guard let id = buildIDText(of: path) else { continue }
            found[id] = found[id] ?? path
            if id == buildID { return path }
        }
        if !searchedLibraries {
            searchedLibraries = true
            var budget = Self.maxLibraryCandidates
            for directory in Self.libraryDirectories {
                for name in listDirectory(directory, limit: budget) where name.contains(".so") {
                    budget -= 1
                    let path = directory + "/" + name
                    if let id = buildIDText(of: path), found[id] == nil { found[id] = path }
                }
            }
        }
        return found[buildID]
    }

    private func buildIDText(of path: String) -> String? {
        let fd = openBelowRoot(path)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return ELFImage.buildID(fileDescriptor: fd).map { $0.map { String($0, radix: 16).leftPadded(to: 2, with: "0") }.joined() }
    }

    private mutating func image(_ path: String) -> ELFImage? {
        if let known = images[path] { return known }
        let fd = openBelowRoot(path)
        var image: ELFImage?
        if fd >= 0 {
            image = try? ELFImage(fileDescriptor: fd)
            close(fd)
        }
        images[path] = image
        return image
    }

    /// Opens a path below the root; -1 when it is not there or leads nowhere readable.
    private func openBelowRoot(_ path: String, flags: Int32 = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) -> Int32 {
        guard let root else { return -1 }
        return sonde_openat2(root, path, UInt64(flags), 0, Self.resolveInRoot)
    }

    /// The names in a directory below the root, at most `limit`.
    private func listDirectory(_ path: String, limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        let fd = openBelowRoot(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let directory = fdopendir(fd) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while names.count < limit, let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The container's root as its processes see it: a live process's /proc/PID/root (checked to
    /// be in the container's cgroup), else the rootfs its runtime named; a plain cgroup's is the host's.
    private static func openRoot(of container: Container) -> Int32? {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC
        var pids: [Int32] = container.initPID.map { [$0] } ?? []
        let cgroups = try? CgroupV2.find()
        if let cgroups, let text = try? Files.readText(cgroups.directory(of: container.cgroupPath) + "/cgroup.procs") {
            pids += text.split(separator: "\n").prefix(8).compactMap { Int32($0) }
        }
        for pid in pids {
            guard let cgroups, let path = try? cgroups.cgroup(ofProcess: pid), container.contains(cgroupPath: path) else { continue }
            let fd = Glibc.open("/proc/\(pid)/root", flags)
            if fd >= 0 { return fd }
        }
        if var rootfs = container.rootfs {
            if !rootfs.hasPrefix("/"), let bundle = container.bundle { rootfs = bundle + "/" + rootfs }
            let fd = Glibc.open(rootfs, flags)
            if fd >= 0 { return fd }
        }
        if container.runtime == .cgroup {
            let fd = Glibc.open("/", flags)
            if fd >= 0 { return fd }
        }
        return nil
    }
}

extension RecorderDump {
    /// The dump with its crash stacks' frames named from the container's files.
    func symbolized(for container: Container) -> RecorderDump {
        guard entries.contains(where: { if case .event(let e) = $0, case .stack = e.kind { return true } else { return false } }) else {
            return self
        }
        var symbolizer = StackSymbolizer(container: container)
        var copy = self
        copy.entries = entries.map { entry in
            guard case .event(var event) = entry, case .stack(let stack) = event.kind else { return entry }
            event.kind = .stack(symbolizer.symbolize(stack, opened: openedPaths(pid: event.pid)))
            return .event(event)
        }
        return copy
    }

    /// The files a process opened (or executed) with success, as the recording shows them, newest first.
    func openedPaths(pid: UInt32) -> [String] {
        var paths: [String] = []
        for entry in entries.reversed() {
            guard case .call(let call) = entry, call.pid == pid, case .returned(let value) = call.record.completion, value >= 0,
                  let argument = Self.pathArgument[call.record.number],
                  let bytes = call.record.captured[argument]?.bytes, !bytes.isEmpty else { continue }
            let path = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            if path.hasPrefix("/") && !paths.contains(path) { paths.append(path) }
        }
        return paths
    }

    /// open, openat, openat2, execve, execveat: the path argument's index, by x86_64 number.
    static let pathArgument: [Int: Int] = [2: 0, 257: 1, 437: 1, 59: 0, 322: 1]
}
