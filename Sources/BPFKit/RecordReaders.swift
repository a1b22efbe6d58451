import CLibbpf
import Dispatch
import LinuxKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One record as a BPF program wrote it, copied out of the kernel buffer.
public struct BPFRecord: Sendable {
    public let bytes: [UInt8]
    /// For perf buffers: the CPU whose buffer held it.
    public let cpu: Int32

    public init(bytes: [UInt8], cpu: Int32 = -1) {
        self.bytes = bytes
        self.cpu = cpu
    }

    public var count: Int { bytes.count }

    /// A fixed-layout field at `offset`; nil when the record is too short (a corrupt record).
    public func load<T: BitwiseCopyable>(_ type: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// A NUL-terminated string in a field of at most `capacity` bytes (cut at the record's end).
    public func string(at offset: Int, capacity: Int) -> String {
        guard offset >= 0, offset < bytes.count else { return "" }
        let end = min(offset + capacity, bytes.count)
        let field = bytes[offset..<end]
        let stop = field.firstIndex(of: 0) ?? end
        return String(decoding: bytes[offset..<stop], as: UTF8.self)
    }

    /// The bytes of a field, unconverted.
    public func slice(at offset: Int, count: Int) -> ArraySlice<UInt8> {
        let start = max(0, min(offset, bytes.count))
        return bytes[start..<min(start + max(0, count), bytes.count)]
    }
}

/// What both kernel buffer kinds offer the pull loop below.
protocol KernelBufferSource: AnyObject, Sendable {
    /// Copies out every record available now, without blocking.
    func drain() throws(SondeError) -> [BPFRecord]
    /// An epoll fd that polls readable when records are waiting.
    var epollDescriptor: Int32 { get }
}

/// Records of a kernel buffer as an AsyncSequence. The consumer pulls: while it is busy, records
/// wait in the kernel buffer, and what does not fit there is counted by the producer (BPF ring
/// buffers) or the kernel (perf buffers) instead of piling up in memory here.
public struct KernelRecords: AsyncSequence, Sendable {
    public typealias Element = BPFRecord
    let source: any KernelBufferSource
    /// How long one wait for data lasts before cancellation is checked again.
    let pollInterval: Int32 = 100

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: any KernelBufferSource
        let pollInterval: Int32
        var batch: [BPFRecord] = []
        var index = 0

        public mutating func next() async throws -> BPFRecord? {
            while true {
                if index < batch.count {
                    defer { index += 1 }
                    return batch[index]
                }
                if Task.isCancelled { return nil }
                batch = try source.drain()
                index = 0
                if batch.isEmpty {
                    await waitReadable(source.epollDescriptor, milliseconds: pollInterval)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, pollInterval: pollInterval)
    }
}

/// The same records as `KernelRecords`, a drained batch at a time: a consumer that writes output
/// can then flush once per batch (one write for many events) and still flush as soon as the
/// kernel buffer is empty.
public struct KernelBatches: AsyncSequence, Sendable {
    public typealias Element = [BPFRecord]
    let source: any KernelBufferSource
    /// How long one wait for data lasts at most: programs that submit with BPF_RB_NO_WAKEUP (open's
    /// batched wake-ups) are only read on this period. nil: wait for the kernel's wake-up alone,
    /// for buffers whose every record wakes the reader; the wait costs nothing while idle.
    let pollInterval: Duration?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: any KernelBufferSource
        let pollInterval: Duration?
        /// Ends an untimed wait when the task is cancelled.
        let wakeup: Wakeup?

        public mutating func next() async throws -> [BPFRecord]? {
            while true {
                if Task.isCancelled { return nil }
                let batch = try source.drain()
                if !batch.isEmpty { return batch }
                if let wakeup, pollInterval == nil {
                    _ = await wakeup.wait(for: [source.epollDescriptor], timeout: nil)
                } else {
                    let milliseconds = pollInterval.map { Int32(Swift.min(Swift.max($0 / .milliseconds(1), 0), 60_000)) } ?? 100
                    await waitReadable(source.epollDescriptor, milliseconds: milliseconds)
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        // Without a pipe (out of fds), an untimed wait falls back to polling every 100 ms.
        AsyncIterator(source: source, pollInterval: pollInterval, wakeup: pollInterval == nil ? try? Wakeup() : nil)
    }
}

/// Waits for the buffer's epoll fd (itself pollable) off the cooperative pool, which must never block.
private func waitReadable(_ epollFD: Int32, milliseconds: Int32) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().async {
            var request = pollfd(fd: epollFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&request, 1, milliseconds)
            continuation.resume()
        }
    }
}

/// Batch collection from libbpf callbacks; only the thread that drains touches it.
private final class Collector: @unchecked Sendable {
    var records: [BPFRecord] = []
    let lost = Atomic<UInt64>(0)
}

/// Reader of a BPF_MAP_TYPE_RINGBUF (libbpf ring_buffer). The ring buffer itself never says what
/// it dropped: programs count failed reservations in their own map (see bpf/include/sonde/common.h).
public final class RingBufferReader: KernelBufferSource, @unchecked Sendable {
    private let ring: OpaquePointer
    private let collector = Collector()
    private let drainLock = Mutex(())
    private let map: BPFMap

    public init(map: BPFMap) throws(SondeError) {
        self.map = map
        let context = Unmanaged.passUnretained(collector).toOpaque()
        guard let ring = ring_buffer__new(map.fileDescriptor, { context, data, size in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
            collector.records.append(BPFRecord(bytes: bytes))
            return 0
        }, context, nil) else {
            throw SondeError.system("cannot read ring buffer \(map.name)", Errno.current)
        }
        self.ring = ring
    }

    deinit { ring_buffer__free(ring) }

    var epollDescriptor: Int32 { ring_buffer__epoll_fd(ring) }

    func drain() throws(SondeError) -> [BPFRecord] {
        try drainLock.withLock { _ throws(SondeError) in
            collector.records.removeAll(keepingCapacity: true)
            try negativeErrnoCall("reading ring buffer \(map.name)") { ring_buffer__consume(ring) }
            return collector.records
        }
    }

    public var records: KernelRecords { KernelRecords(source: self) }
    public var batches: KernelBatches { KernelBatches(source: self, pollInterval: .milliseconds(100)) }
    /// Batches waiting at most `pollInterval` for data; nil: only for the kernel's wake-up.
    public func batches(pollInterval: Duration?) -> KernelBatches { KernelBatches(source: self, pollInterval: pollInterval) }

    /// The records available now, without waiting (for callers that poll on their own schedule).
    public func available() throws(SondeError) -> [BPFRecord] { try drain() }
}

/// Reader of a BPF_MAP_TYPE_PERF_EVENT_ARRAY with one buffer per CPU (libbpf perf_buffer). The
/// kernel counts the records it could not store, reported here as `lostRecords`.
public final class PerfBufferReader: KernelBufferSource, @unchecked Sendable {
    private let buffer: OpaquePointer
    private let collector = Collector()
    private let drainLock = Mutex(())
    private let map: BPFMap

    /// `pagesPerCPU` must be a power of two.
    public init(map: BPFMap, pagesPerCPU: Int = 64) throws(SondeError) {
        self.map = map
        let context = Unmanaged.passUnretained(collector).toOpaque()
        guard let buffer = perf_buffer__new(map.fileDescriptor, pagesPerCPU, { context, cpu, data, size in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            let bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: Int(size)))
            collector.records.append(BPFRecord(bytes: bytes, cpu: cpu))
        }, { context, _, count in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            collector.lost.add(count, ordering: .relaxed)
        }, context, nil) else {
            throw SondeError.system("cannot read perf buffer \(map.name)", Errno.current)
        }
        self.buffer = buffer
    }

    deinit { perf_buffer__free(buffer) }

    var epollDescriptor: Int32 { perf_buffer__epoll_fd(buffer) }

    func drain() throws(SondeError) -> [BPFRecord] {
        try drainLock.withLock { _ throws(SondeError) in
            collector.records.removeAll(keepingCapacity: true)
            try negativeErrnoCall("reading perf buffer \(map.name)") { perf_buffer__consume(buffer) }
            return collector.records
        }
    }

    /// Records the kernel dropped because a CPU's buffer was full.
    public var lostRecords: UInt64 { collector.lost.load(ordering: .relaxed) }

    public var records: KernelRecords { KernelRecords(source: self) }
}
