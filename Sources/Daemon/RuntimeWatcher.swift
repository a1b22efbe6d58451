import Foundation
import LinuxKit
import Synchronization

/// Watches runtimes' state directories with inotify and calls `changed` when a container's state
/// appears or goes (runc makes ROOT/ID at create and removes it at delete; containerd's shims do
/// the same under ROOT/NAMESPACE/ID). Directories that do not exist yet (containerd not started)
/// and namespaces made later are picked up by a rescan every few seconds. This only makes the
/// daemon look sooner: the periodic refresh and the kernel's cgroup_mkdir notices are the baseline.
final class RuntimeWatcher: Sendable {
    /// Shared with the watching thread (a Mutex cannot be captured: it is not copyable).
    private final class Flag: Sendable {
        let raised = Mutex(false)
    }
    private let stopped = Flag()

    init(directories: [String], changed: @escaping @Sendable () -> Void) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        // No inotify (limits reached): the periodic refresh still finds everything.
        guard fd >= 0 else { return }
        let stopped = self.stopped
        let thread = Thread {
            defer { close(fd) }
            var watched: [Int32: String] = [:]
            var lastScan = ContinuousClock.now - .seconds(60)
            let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while !stopped.raised.withLock({ $0 }) {
                if ContinuousClock.now - lastScan >= .seconds(5) {
                    lastScan = .now
                    // The roots and, one level down, containerd's namespace directories.
                    var wanted = Set(directories)
                    for root in directories {
                        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                            var isDirectory: ObjCBool = false
                            if FileManager.default.fileExists(atPath: root + "/" + entry, isDirectory: &isDirectory), isDirectory.boolValue {
                                wanted.insert(root + "/" + entry)
                            }
                        }
                    }
                    for path in wanted where !watched.values.contains(path) {
                        let wd = inotify_add_watch(fd, path, mask)
                        if wd >= 0 { watched[wd] = path }
                    }
                }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 500) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { continue }
                var sawChange = false
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let (wd, eventMask, nameLength) = buffer.withUnsafeBytes { raw in
                        let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        return (event.wd, event.mask, Int(event.len))
                    }
                    if eventMask & UInt32(IN_IGNORED) != 0 {
                        watched[wd] = nil // the directory went away; the rescan watches it again if it returns
                    } else {
                        sawChange = true
                    }
                    offset += MemoryLayout<inotify_event>.size + nameLength
                }
                if sawChange {
                    lastScan = .now - .seconds(60) // a new namespace directory may have appeared
                    changed()
                }
            }
        }
        thread.name = "sonde-runtime-watcher"
        thread.start()
    }

    func stop() {
        stopped.raised.withLock { $0 = true }
    }
}
