import BPFKit
import Containers
import LinuxKit

/// What one recorded container's rings hold and have lost, read from the ring headers only
/// (bpf/recorder.h: head, written, dropped), without walking the records: cheap enough for every
/// metrics scrape.
public struct RecorderUsage: Sendable {
    public var container: Container
    /// Ring bytes per CPU times the CPUs, over all of the container's rings.
    public var bufferBytes: UInt64
    /// Records committed since recording began.
    public var writtenRecords: UInt64
    /// Records that could not be written (too large, scratch unavailable).
    public var droppedRecords: UInt64
    /// Bytes written over older records once a ring went round: the history that is gone.
    public var overwrittenBytes: UInt64
    /// Every ring of the container has ended (the container is gone; the recording is kept).
    public var ended: Bool
}

extension FlightRecorder {
    /// Every recorded container's usage, running or ended.
    public func usage() throws(SondeError) -> [RecorderUsage] {
        let registry = try store.load()
        var result: [RecorderUsage] = []
        for (key, container) in registry.containers {
            var usage = RecorderUsage(container: container, bufferBytes: 0, writtenRecords: 0, droppedRecords: 0,
                                      overwrittenBytes: 0, ended: true)
            for ring in registry.rings(of: key) {
                guard let id = try rings[ring.sizeClass].lookup(ring.slot, as: UInt32.self) else { continue }
                let mapped = try MappedArray(try BPFMap.byID(id, name: "ring \(ring.slot)"))
                let ringSize = UInt64(RingLayout.ringSize(sizeClass: ring.sizeClass))
                // Aligned 8-byte loads of counters the writers update atomically: never torn.
                for cpu in 0..<mapped.map.maxEntries {
                    let element = mapped.element(cpu)
                    let head = element.load(fromByteOffset: RingLayout.headOffset, as: UInt64.self)
                    usage.bufferBytes += ringSize
                    usage.writtenRecords += element.load(fromByteOffset: RingLayout.writtenOffset, as: UInt64.self)
                    usage.droppedRecords += element.load(fromByteOffset: RingLayout.droppedOffset, as: UInt64.self)
                    usage.overwrittenBytes += head > ringSize ? head - ringSize : 0
                }
                if ring.ended == nil { usage.ended = false }
            }
            result.append(usage)
        }
        return result.sorted { $0.container.name < $1.container.name }
    }
}
