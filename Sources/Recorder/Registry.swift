import Containers
import Foundation
import LinuxKit

/// What the recorder knows beyond its BPF maps, kept in a file so that any later sonde process
/// (a restarted recorder, `sonde record dump`) sees the same: which ring belongs to which
/// container, including containers that are gone but not yet dumped.
struct RecorderRegistry: Codable {
    struct Ring: Codable {
        var slot: UInt32
        var sizeClass: Int
        /// Kernel keys (cgroup ids, or mount namespace ids) that write into this ring.
        var keys: [UInt64]
        /// The cgroup path the kernel reported, for rings made for new cgroups.
        var path: String?
        /// `runtime/id` of the container it records; nil while pending or in the free pool.
        var container: String?
        var pending: Bool
        /// Wall-clock nanoseconds.
        var started: Int64
        var ended: Int64?
    }

    var keyByMountNamespace = false
    var defaultSizeClass = 2
    var bufferCapture: UInt32 = 256
    var poolSize = 8
    /// Slots waiting in the kernel's free queue.
    var pool: [UInt32] = []
    var rings: [UInt32: Ring] = [:]
    var containers: [String: Container] = [:]

    static func key(_ container: Container) -> String { "\(container.runtime.rawValue)/\(container.id)" }

    func rings(of containerKey: String) -> [Ring] {
        rings.values.filter { $0.container == containerKey }.sorted { $0.slot < $1.slot }
    }
}

/// The registry file, read and written under an exclusive lock (flock) so that concurrent sonde
/// processes never lose each other's updates.
struct RegistryStore {
    let directory: String
    var file: String { directory + "/registry.json" }

    /// Runs `body` on the registry with the lock held and saves what it changed. Only the start of
    /// a recorder makes the directory: once `sonde record stop` removed it, a process still
    /// following the recorder must not bring it back.
    func update<T>(creating: Bool = false, _ body: (inout RecorderRegistry) throws(SondeError) -> T) throws(SondeError) -> T {
        if creating {
            try FileManager.default.createDirectory(atPathOrThrow: directory)
        } else if !Files.exists(directory) {
            throw SondeError(.notFound, "the flight recorder was stopped (its registry \(directory) is gone)")
        }
        let lock = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw SondeError.system("cannot open \(directory)/lock", Errno.current) }
        defer { close(lock) }
        try systemCall("lock \(directory)/lock") { flock(lock, LOCK_EX) }
        var registry = try load()
        let result = try body(&registry)
        try save(registry)
        return result
    }

    func load() throws(SondeError) -> RecorderRegistry {
        guard Files.exists(file) else { return RecorderRegistry() }
        do {
            return try JSONDecoder().decode(RecorderRegistry.self, from: try Files.readData(file))
        } catch let error as SondeError {
            throw error
        } catch {
            throw SondeError(.malformedInput, "the recorder's registry \(file) is damaged: \(error)",
                             hint: "sonde record stop removes it with the recording")
        }
    }

    private func save(_ registry: RecorderRegistry) throws(SondeError) {
        let data: Data
        do {
            data = try JSONEncoder().encode(registry)
        } catch {
            throw SondeError(.system, "cannot encode \(file): \(error)")
        }
        // Aside and renamed (a crash never leaves half a registry), root's only: it names every
        // recorded container.
        try Files.writePrivate(file, Array(data))
    }
}
