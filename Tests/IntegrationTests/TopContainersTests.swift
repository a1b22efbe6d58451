import Foundation
import Testing
import TestSupport

/// `sonde top containers` end to end: a container that burns a CPU and one that holds memory,
/// shown with their usage and pressure from their cgroup files.
@Suite(.serialized) struct TopContainersTests {
    @Test func showsCPUMemoryAndPressureOfRealContainers() async throws {
        // One busy loop: about one CPU. The other writes 48 MiB into /dev/shm (tmpfs: the pages
        // are charged to the writer's memory cgroup) and sleeps.
        let burner = try RuncContainer(prefix: "sonde-it-topct-cpu", args: ["sh", "-c", "while :; do :; done"])
        let holder = try RuncContainer(prefix: "sonde-it-topct-mem",
                                       args: ["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=48; touch /tmp/filled; sleep 3600"])
        defer { burner.remove(); holder.remove() }
        try burner.start()
        try holder.start()
        // The holder's memory is charged once its dd has ended, which it says with a file.
        let filled = holder.rootfs.appendingPathComponent("tmp/filled").path
        #expect(try await eventually(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: filled) })

        let result = try run(sondeExecutable, ["top", "containers", "-c", burner.name, "-c", holder.name, "-o", "json",
                                               "--interval", "1", "--timeout", "3.5"], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        func rowsOf(_ container: RuncContainer) -> [[String: Any]] {
            rows.filter { ($0["container"] as? [String: Any])?["name"] as? String == container.name }
        }
        #expect(Set(rows.compactMap { ($0["container"] as? [String: Any])?["name"] as? String }) == [burner.name, holder.name])
        // cpu is in hundredths of a percent of one CPU: the burner near 100% (>= 30% on a shared
        // 2-core machine), the sleeping holder near 0.
        let burnerCPU = rowsOf(burner).compactMap { $0["cpu"] as? Int }
        #expect(!burnerCPU.isEmpty && burnerCPU.allSatisfy { $0 >= 3000 }, "\(burnerCPU)")
        let holderCPU = rowsOf(holder).compactMap { $0["cpu"] as? Int }
        #expect(!holderCPU.isEmpty && holderCPU.allSatisfy { $0 < 1000 }, "\(holderCPU)")
        // The holder's 48 MiB of shared memory.
        let holderMemory = rowsOf(holder).compactMap { $0["memory"] as? Int }
        #expect(!holderMemory.isEmpty && holderMemory.allSatisfy { $0 >= 48 << 20 }, "\(holderMemory)")
        // PSI and usage come from the cgroup files: totals grow, and on this hybrid host memory
        // comes from the v1 controller when v2 has no memory.current.
        for row in rows {
            #expect(row["cpu_some_usec"] as? Int != nil && row["io_some_usec"] as? Int != nil, "\(row)")
            #expect(["v2", "v1", "v2+v1"].contains(row["usage_from"] as? String ?? ""), "\(row)")
        }
        let burnerCPUTotal = rowsOf(burner).compactMap { $0["cpu_usec"] as? Int }
        #expect(burnerCPUTotal.count >= 2 && burnerCPUTotal.last! > burnerCPUTotal.first!)

        let columns = try run(sondeExecutable, ["top", "containers", "-c", burner.name, "--timeout", "1.2", "--interval", "1"])
        #expect(columns.stdout.contains("CPU_SOME") && columns.stdout.contains(String(burner.name.prefix(16))), "\(columns.stdout)")
        #expect(columns.stdout.contains("%"))
    }
}
