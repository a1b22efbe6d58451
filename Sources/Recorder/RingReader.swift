import BPFKit
import Syscalls

/// One record as read from a ring: a syscall entry or exit, or a signal, a thread's end, a stack.
struct RawRecord {
    enum Kind {
        case enter, exit
        case signal(RecordedSignal)
        case threadExit(ThreadExit)
        case stack(CrashStack)
    }
    var kind: Kind
    var number: Int
    var pid: UInt32
    var tid: UInt32
    var bootNanoseconds: UInt64
    var cpu: Int
    /// Entry: the six argument registers. Exit: empty.
    var arguments: [UInt64]
    /// Exit: the return value.
    var returnValue: Int64
    /// Captured memory by argument (a string array as its entries, each followed by a NUL).
    var captured: [Int: CapturedData]
    /// False for an exit that carries its entry's timestamp (SONDE_REC_ENTRY_TIME).
    var ownTime = true
}

/// What reading one CPU's ring found besides records.
struct RingLoss {
    var cpu: Int
    /// Records that were written but are no longer in the ring (the ring went round).
    var overwritten: UInt64 = 0
    /// Records that could not be written at all (larger than the recorder's bound).
    var dropped: UInt64 = 0
    /// Records skipped because they were inconsistent (a writer still at work, or damage).
    var corrupt: UInt64 = 0
    /// Time of the oldest record still readable on this CPU: where the gap is.
    var oldestTimestamp: UInt64?
}

/// Reads the per-CPU rings of one recorded container without stopping its writers.
///
/// Each CPU's ring is copied first (the writers go on meanwhile), then walked in the copy. The
/// head is read before and after the copy: bytes that may have been overwritten during the copy
/// are not trusted, and records that began after the first read are left for the next dump.
struct RingReader {
    let sizeClass: Int

    func read(_ ring: MappedArray) -> (records: [RawRecord], losses: [RingLoss]) {
        var records: [RawRecord] = []
        var losses: [RingLoss] = []
        for cpu in 0..<ring.map.maxEntries {
            let (cpuRecords, loss) = readCPU(ring.element(cpu), cpu: cpu)
            records.append(contentsOf: cpuRecords)
            losses.append(loss)
        }
        return (records, losses)
    }

    func readCPU(_ element: UnsafeRawBufferPointer, cpu: Int) -> ([RawRecord], RingLoss) {
        let ringSize = RingLayout.ringSize(sizeClass: sizeClass)
        let ringMask = UInt64(ringSize - 1)
        let pages = RingLayout.checkpointCount(sizeClass: sizeClass)
        let checkpointsAt = RingLayout.checkpointsOffset(sizeClass: sizeClass)
        let dataAt = RingLayout.dataOffset(sizeClass: sizeClass)

        let headBefore = atomicLoad(element, RingLayout.headOffset)
        let written = atomicLoad(element, RingLayout.writtenOffset)
        var loss = RingLoss(cpu: cpu, dropped: atomicLoad(element, RingLayout.droppedOffset))
        let copy = [UInt8](element) // the writers go on; we read this snapshot
        let headAfter = atomicLoad(element, RingLayout.headOffset)

        let end = headBefore
        // Anything older than one ring length before the later head may have been overwritten.
        let low = headAfter > UInt64(ringSize) ? headAfter - UInt64(ringSize) : 0

        func checkpoint(page: UInt64) -> UInt64? {
            let value = copy.withUnsafeBytes {
                $0.loadUnaligned(fromByteOffset: checkpointsAt + 8 * Int(page % UInt64(pages)), as: UInt64.self)
            }
            // Valid only if written for this very page (not for the same slot one lap earlier).
            guard value >> UInt64(RingLayout.pageShift) == page, value >= low, value < end else { return nil }
            return value
        }
        /// The first record start at or after `position`, from the checkpoints.
        func resync(after position: UInt64) -> UInt64? {
            var page = (position >> UInt64(RingLayout.pageShift)) + 1
            while page <= end >> UInt64(RingLayout.pageShift) {
                if let start = checkpoint(page: page) { return start }
                page += 1
            }
            return nil
        }

        var position: UInt64?
        if low == 0 {
            position = end > 0 ? 0 : nil
        } else if let start = checkpoint(page: low >> UInt64(RingLayout.pageShift)) {
            position = start
        } else {
            position = resync(after: low)
        }

        var records: [RawRecord] = []
        while let current = position, current < end {
            let offset = dataAt + Int(current & ringMask)
            if let record = decode(copy, at: offset, position: current, cpu: cpu), current + UInt64(record.size) <= end {
                records.append(record.record)
                position = current + UInt64(record.size)
            } else {
                loss.corrupt += 1
                position = resync(after: current)
            }
        }
        let readable = UInt64(records.count) + loss.corrupt
        loss.overwritten = written > readable ? written - readable : 0
        loss.oldestTimestamp = records.first?.bootNanoseconds
        return (records, loss)
    }

    /// The record at `offset` if its header is consistent with where it sits.
    func decode(_ bytes: [UInt8], at offset: Int, position: UInt64, cpu: Int) -> (record: RawRecord, size: Int)? {
        bytes.withUnsafeBytes { raw -> (RawRecord, Int)? in
            guard offset + RingLayout.Record.headerSize <= raw.count else { return nil }
            func load<T: BitwiseCopyable>(_ at: Int, _: T.Type) -> T { raw.loadUnaligned(fromByteOffset: offset + at, as: T.self) }
            let size = Int(load(RingLayout.Record.size, UInt16.self))
            guard load(RingLayout.Record.position, UInt32.self) == UInt32(truncatingIfNeeded: position),
                  size >= RingLayout.Record.headerSize, size % 8 == 0, size <= RingLayout.maxRecord,
                  offset + size <= raw.count else { return nil }
            let type = load(RingLayout.Record.type, UInt8.self)
            var record = RawRecord(kind: .enter, number: Int(load(RingLayout.Record.number, UInt16.self)),
                                   pid: load(RingLayout.Record.pid, UInt32.self), tid: load(RingLayout.Record.tid, UInt32.self),
                                   bootNanoseconds: load(RingLayout.Record.timestamp, UInt64.self), cpu: cpu,
                                   arguments: [], returnValue: 0, captured: [:])
            let fixed: Int
            switch type {
            case RingLayout.Record.typeEnter:
                fixed = RingLayout.Record.enterFixed
                guard size >= fixed else { return nil }
                record.arguments = (0..<6).map { load(RingLayout.Record.enterArgs + 8 * $0, UInt64.self) }
            case RingLayout.Record.typeExit:
                fixed = RingLayout.Record.exitFixed
                guard size >= fixed else { return nil }
                record.kind = .exit
                record.returnValue = load(RingLayout.Record.exitReturn, Int64.self)
                record.ownTime = load(RingLayout.Record.flags, UInt16.self) & RingLayout.Record.flagEntryTime == 0
            default:
                guard let event = Self.decodeEvent(type: type, number: record.number, size: size,
                                                   load: { load($0, UInt8.self) },
                                                   bytes: { Array(raw[(offset + $0)..<(offset + $0 + $1)]) }) else { return nil }
                record.kind = event
                return (record, size)
            }
            // The captured chunks.
            var at = fixed
            let chunks = Int(load(RingLayout.Record.chunkCount, UInt8.self))
            for _ in 0..<chunks {
                guard at + RingLayout.Chunk.headerSize <= size else { return nil }
                let arg = Int(load(at, UInt8.self))
                let flags = load(at + 1, UInt8.self)
                let length = Int(load(at + 2, UInt16.self))
                let start = at + RingLayout.Chunk.headerSize
                guard arg < 6, start + length <= size else { return nil }
                let data = CapturedData(bytes: Array(raw[(offset + start)..<(offset + start + length)]),
                                        truncated: flags & RingLayout.Chunk.truncated != 0,
                                        faulted: flags & RingLayout.Chunk.fault != 0)
                Self.attach(data, flags: flags, to: &record.captured[arg])
                at = start + ((length + 3) & ~3)
            }
            return (record, size)
        }
    }

    /// Puts a chunk where it belongs in its argument's capture: the chunks of one argument come in
    /// the order the recorder reads them (a msghdr, then its msg_name, its iovec array, the bytes
    /// behind each iovec; an fd_set at entry, then at exit).
    static func attach(_ data: CapturedData, flags: UInt8, to capture: inout CapturedData?) {
        typealias Chunk = RingLayout.Chunk
        if flags & Chunk.argvEntry != 0 {
            var argv = capture ?? CapturedData(bytes: [])
            argv.bytes += data.bytes + [0]
            argv.truncated = argv.truncated || data.truncated || flags & Chunk.argvMore != 0
            argv.faulted = argv.faulted || data.faulted
            capture = argv
        } else if flags & Chunk.messageName != 0 {
            capture?.name = data
        } else if flags & Chunk.iovArray != 0 {
            if capture == nil {
                capture = data // readv, writev: the argument is the array
            } else {
                capture?.iovecs = data // a msghdr's msg_iov
            }
        } else if flags & Chunk.iovEntry != 0 {
            if capture?.iovecs != nil {
                capture?.iovecs?.elements.append(data)
            } else {
                capture?.elements.append(data)
            }
        } else if flags & Chunk.atExit != 0 {
            if capture == nil { capture = CapturedData(bytes: []) }
            capture?.atExit = data
        } else {
            capture = data
        }
    }

    /// An aligned 8-byte load: a single instruction on x86_64, so never torn by a writer.
    private func atomicLoad(_ element: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        element.load(fromByteOffset: offset, as: UInt64.self)
    }
}
