import Foundation
import LinuxKit
import Synchronization

/// Watches runtimes' state directories with inotify and calls `changed` when a container's state
/// appears, changes or goes: runc makes ROOT/ID at create, then writes ROOT/ID/state.json (a
/// rename over it) once the container's process exists, and removes ROOT/ID at delete;
/// containerd's shims do the same under ROOT/NAMESPACE/ID. The directory appears before its
/// state.json, so container directories are watched too: a listing made at the directory's
/// creation would not find the container yet. A root that does not exist yet (containerd not
/// started) is waited for through its nearest existing ancestor.
///
/// The thread blocks in poll with no timeout: it costs nothing while nothing changes. A stop
/// wakes it through a pipe.
final class RuntimeWatcher: Sendable {
    /// A state root: ROOT/ID (runc, podman), or ROOT/NAMESPACE/ID with `namespaced` (containerd).
    struct Root: Sendable {
        var path: String
        var namespaced: Bool
    }

    /// Why a directory is watched, which says which of its events matter.
    enum Kind: Equatable {
        /// A root or a namespace directory: container (or namespace) directories come and go.
        case parent
        /// A container's directory: its state.json was written.
        case container
        /// The nearest existing ancestor of a root that does not exist yet.
        case ancestor
    }

    private final class Flag: Sendable {
        let raised = Mutex(false)
    }
    private let stopped = Flag()
    private let wakeup: Wakeup?
    private final class Watched: Sendable {
        let paths = Mutex(Set<String>())
    }
    private let watched = Watched()

    /// The directories watched now (for tests and status: what a change there would be seen by).
    var watchedDirectories: Set<String> { watched.paths.withLock { $0 } }

    init(roots: [Root], changed: @escaping @Sendable () -> Void) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        // No inotify (limits reached) or no pipe: the reconcile and the other watchers still find everything.
        guard fd >= 0, let wakeup = try? Wakeup() else {
            if fd >= 0 { close(fd) }
            self.wakeup = nil
            return
        }
        self.wakeup = wakeup
        let stopped = self.stopped
        let watched = self.watched
        let thread = Thread {
            defer { close(fd) }
            var watches = Watches(fd: fd)
            watches.rescan(roots)
            watched.paths.withLock { $0 = watches.paths }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let (ready, _) = wakeup.wait(for: [fd], timeout: nil)
                if stopped.raised.withLock({ $0 }) { return }
                guard !ready.isEmpty else { continue }
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { continue }
                var sawChange = false
                var rescan = false
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let (wd, mask, nameLength) = buffer.withUnsafeBytes { raw in
                        let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        return (event.wd, event.mask, Int(event.len))
                    }
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    let name = buffer[nameStart..<min(nameStart + nameLength, count)].prefix { $0 != 0 }
                    offset = nameStart + nameLength
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        // Events were dropped: look at everything again.
                        (sawChange, rescan) = (true, true)
                        continue
                    }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        watches.forget(wd) // the directory went away (the kernel dropped the watch)
                        continue
                    }
                    switch watches.kind(of: wd) {
                    case .parent?:
                        // A container or namespace directory came or went: watch the new ones.
                        (sawChange, rescan) = (true, true)
                    case .container?:
                        if name.elementsEqual("state.json".utf8) { sawChange = true }
                    case .ancestor?:
                        rescan = true
                    case nil:
                        break
                    }
                }
                if rescan {
                    // A root that just appeared may already hold containers.
                    if watches.rescan(roots) { sawChange = true }
                }
                watched.paths.withLock { $0 = watches.paths }
                if sawChange { changed() }
            }
        }
        thread.name = "sonde-runtime-watcher"
        thread.start()
    }

    func stop() {
        stopped.raised.withLock { $0 = true }
        wakeup?.signal()
    }

    /// The inotify watches, kept to exactly what the roots need now.
    struct Watches {
        let fd: Int32
        private var byDescriptor: [Int32: (path: String, kind: Kind)] = [:]

        init(fd: Int32) { self.fd = fd }

        func kind(of wd: Int32) -> Kind? { byDescriptor[wd]?.kind }

        var paths: Set<String> { Set(byDescriptor.values.map(\.path)) }

        mutating func forget(_ wd: Int32) { byDescriptor[wd] = nil }

        /// Watches every root (or its nearest existing ancestor), its namespace and container
        /// directories; drops watches no longer needed. Returns whether a root was newly watched.
        @discardableResult
        mutating func rescan(_ roots: [Root]) -> Bool {
            var wanted: [String: Kind] = [:]
            for root in roots {
                guard isDirectory(root.path) else {
                    if let ancestor = nearestExistingAncestor(root.path) { wanted[ancestor] = wanted[ancestor] ?? .ancestor }
                    continue
                }
                wanted[root.path] = .parent
                for child in subdirectories(root.path) {
                    if root.namespaced {
                        wanted[child] = .parent
                        for container in subdirectories(child) { wanted[container] = .container }
                    } else {
                        wanted[child] = .container
                    }
                }
            }
            let watchedPaths = Dictionary(byDescriptor.map { ($0.value.path, ($0.key, $0.value.kind)) }, uniquingKeysWith: { first, _ in first })
            var newRoot = false
            for (wd, entry) in byDescriptor where wanted[entry.path] != entry.kind {
                inotify_rm_watch(fd, wd)
                byDescriptor[wd] = nil
            }
            for (path, kind) in wanted where watchedPaths[path]?.1 != kind {
                let mask: Int32 = switch kind {
                case .parent, .ancestor: IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR
                // runc renames a temporary file over state.json; containerd's shim does the same.
                case .container: IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR
                }
                let wd = inotify_add_watch(fd, path, UInt32(mask))
                guard wd >= 0 else { continue } // gone meanwhile, or out of watches: the reconcile covers it
                byDescriptor[wd] = (path, kind)
                if kind == .parent && roots.contains(where: { $0.path == path }) && watchedPaths[path] == nil { newRoot = true }
            }
            return newRoot
        }

        private func isDirectory(_ path: String) -> Bool {
            var status = stat()
            return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
        }

        private func subdirectories(_ path: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }.filter(isDirectory)
        }

        private func nearestExistingAncestor(_ path: String) -> String? {
            var current = (path as NSString).deletingLastPathComponent
            while !current.isEmpty {
                if isDirectory(current) { return current }
                if current == "/" { return nil }
                current = (current as NSString).deletingLastPathComponent
            }
            return nil
        }
    }
}
