import Testing
@testable import Recorder
import Syscalls

/// Writes rings as bpf/recorder.bpf.c does (reserve, write contiguously, commit, checkpoints), in
/// plain memory, so the reader can be tested on wrap-around and damage.
struct RingWriter {
    let sizeClass = 0
    var element: [UInt8]
    var head: UInt64 = 0
    var written: UInt64 = 0

    init() { element = [UInt8](repeating: 0, count: RingLayout.elementSize(sizeClass: 0)) }

    var ringSize: Int { RingLayout.ringSize(sizeClass: sizeClass) }

    mutating func put<T>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value) { element.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }

    /// An entry record of `nr` with one string chunk, or an exit record with `ret`; returns its start.
    @discardableResult
    mutating func append(enter nr: UInt16, tid: UInt32, time: UInt64, string: String? = nil, commit: Bool = true) -> UInt64 {
        var chunk: [UInt8] = []
        if let string {
            let bytes = Array(string.utf8)
            chunk = [1, 0] + withUnsafeBytes(of: UInt16(bytes.count)) { Array($0) } + bytes
            chunk += [UInt8](repeating: 0, count: (4 - chunk.count % 4) % 4)
        }
        let size = (RingLayout.Record.enterFixed + chunk.count + 7) & ~7
        var record = [UInt8](repeating: 0, count: size)
        func set<T>(_ v: T, _ at: Int) { withUnsafeBytes(of: v) { record.replaceSubrange(at..<at + $0.count, with: $0) } }
        set(UInt16(size), RingLayout.Record.size)
        record[RingLayout.Record.type] = RingLayout.Record.typeEnter
        record[RingLayout.Record.chunkCount] = string == nil ? 0 : 1
        set(nr, RingLayout.Record.number)
        set(tid, RingLayout.Record.pid)
        set(tid, RingLayout.Record.tid)
        set(time, RingLayout.Record.timestamp)
        for i in 0..<6 { set(UInt64(i), RingLayout.Record.enterArgs + 8 * i) }
        record.replaceSubrange(RingLayout.Record.enterFixed..<RingLayout.Record.enterFixed + chunk.count, with: chunk)
        return write(record, commit: commit)
    }

    @discardableResult
    mutating func append(exit nr: UInt16, tid: UInt32, time: UInt64, ret: Int64, entryTime: Bool = false) -> UInt64 {
        var record = [UInt8](repeating: 0, count: RingLayout.Record.exitFixed)
        func set<T>(_ v: T, _ at: Int) { withUnsafeBytes(of: v) { record.replaceSubrange(at..<at + $0.count, with: $0) } }
        set(UInt16(record.count), RingLayout.Record.size)
        record[RingLayout.Record.type] = RingLayout.Record.typeExit
        set(nr, RingLayout.Record.number)
        set(tid, RingLayout.Record.pid)
        set(tid, RingLayout.Record.tid)
        set(time, RingLayout.Record.timestamp)
        set(ret, RingLayout.Record.exitReturn)
        if entryTime { set(RingLayout.Record.flagEntryTime, RingLayout.Record.flags) }
        return write(record, commit: true)
    }

    private mutating func write(_ record: [UInt8], commit: Bool) -> UInt64 {
        let start = head
        head += UInt64(record.count)
        var bytes = record
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: commit ? start : start + 1)) {
            bytes.replaceSubrange(RingLayout.Record.position..<RingLayout.Record.position + 4, with: $0)
        }
        let at = RingLayout.dataOffset(sizeClass: sizeClass) + Int(start % UInt64(ringSize))
        element.replaceSubrange(at..<at + bytes.count, with: bytes)
        if commit { written += 1 }
        let end = start + UInt64(record.count)
        if start >> 12 != end >> 12 {
            let pages = UInt64(RingLayout.checkpointCount(sizeClass: sizeClass))
            put(end, at: RingLayout.checkpointsOffset(sizeClass: sizeClass) + 8 * Int((end >> 12) % pages))
        }
        put(head, at: RingLayout.headOffset)
        put(written, at: RingLayout.writtenOffset)
        return start
    }

    func read() -> ([RawRecord], RingLoss) {
        element.withUnsafeBytes { RingReader(sizeClass: sizeClass).readCPU($0, cpu: 0) }
    }
}

@Suite struct RingReaderTests {
    @Test func readsWhatWasWrittenAndPairsIt() {
        var ring = RingWriter()
        ring.append(enter: 257, tid: 7, time: 10, string: "/etc/hostname")
        ring.append(exit: 257, tid: 7, time: 11, ret: 3)
        ring.append(enter: 231, tid: 7, time: 12)
        let (records, loss) = ring.read()
        #expect(records.count == 3)
        #expect(records[0].captured[1]?.bytes == Array("/etc/hostname".utf8))
        #expect(loss.overwritten == 0 && loss.corrupt == 0)
        let dump = RecorderDump(records: records, losses: [loss], neverReturns: { $0 == 231 })
        guard case .call(let open) = dump.entries[0], case .call(let exit) = dump.entries[1] else {
            Issue.record("not two calls: \(dump.entries)")
            return
        }
        #expect(open.record.completion == .returned(3) && open.record.captured[1] != nil)
        #expect(open.exitNanoseconds == 11)
        #expect(exit.record.completion == .noReturn)
    }

    @Test func anExitWithItsEntrysTimeHasNoDurationAndStaysAfterItsEntry() {
        var ring = RingWriter()
        ring.append(enter: 110, tid: 7, time: 20)
        ring.append(exit: 110, tid: 7, time: 20, ret: 1, entryTime: true)
        ring.append(enter: 110, tid: 7, time: 20)
        ring.append(exit: 110, tid: 7, time: 20, ret: 1, entryTime: true)
        let (records, loss) = ring.read()
        let dump = RecorderDump(records: records, losses: [loss], neverReturns: { _ in false })
        let calls = dump.entries.compactMap { entry -> RecordedCall? in
            if case .call(let call) = entry { return call } else { return nil }
        }
        #expect(calls.count == 2)
        #expect(calls.allSatisfy { $0.record.completion == .returned(1) && $0.exitNanoseconds == nil && !$0.entryLost })
    }

    @Test func afterWrappingItStartsAtACheckpointAndCountsWhatWasOverwritten() {
        var ring = RingWriter()
        var time: UInt64 = 0
        while ring.head < UInt64(ring.ringSize) * 3 + 1000 {
            time += 1
            ring.append(enter: 39, tid: 1, time: time, string: String(repeating: "x", count: Int(time % 50)))
            ring.append(exit: 39, tid: 1, time: time, ret: 1)
        }
        let (records, loss) = ring.read()
        #expect(!records.isEmpty)
        #expect(loss.corrupt == 0)
        #expect(loss.overwritten + UInt64(records.count) == ring.written)
        // The newest record is there, and the records are consecutive.
        #expect(records.last?.bootNanoseconds == time)
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.bootNanoseconds <= $1.bootNanoseconds })
        #expect(loss.oldestTimestamp == records.first?.bootNanoseconds)
    }

    @Test func aRecordStillBeingWrittenIsSkippedCountedAndReadingGoesOn() {
        var ring = RingWriter()
        var time: UInt64 = 0
        for _ in 0..<100 { time += 1; ring.append(enter: 0, tid: 2, time: time, string: "before") }
        ring.append(enter: 1, tid: 3, time: 999, string: "in progress", commit: false)
        // Enough after it to reach the next page's checkpoint.
        for _ in 0..<100 { time += 1; ring.append(enter: 0, tid: 2, time: time, string: "after") }
        let (records, loss) = ring.read()
        #expect(loss.corrupt == 1)
        #expect(!records.contains { $0.bootNanoseconds == 999 })
        #expect(records.contains { $0.captured[1]?.bytes == Array("after".utf8) })
        #expect(records.last?.bootNanoseconds == time)
    }

    @Test func garbageIsCountedNeverACrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var ring = RingWriter()
            for index in ring.element.indices { ring.element[index] = UInt8.random(in: 0...255, using: &generator) }
            ring.put(UInt64.random(in: 0...UInt64(1) << 40, using: &generator), at: RingLayout.headOffset)
            let (records, loss) = ring.read()
            // Random bytes almost never carry a matching commit mark: nothing is trusted, and what
            // the head says was written is accounted for as skipped or overwritten, not dropped silently.
            #expect(records.count <= 1)
            #expect(loss.corrupt + loss.overwritten > 0)
        }
    }
}

/// How the chunks of one argument are put back together (bpf/recorder.bpf.c writes them in this order).
@Suite struct ChunkAssemblyTests {
    typealias Chunk = RingLayout.Chunk

    func assemble(_ chunks: [(flags: UInt8, bytes: [UInt8])]) -> CapturedData? {
        var capture: CapturedData?
        for chunk in chunks { RingReader.attach(CapturedData(bytes: chunk.bytes), flags: chunk.flags, to: &capture) }
        return capture
    }

    @Test func anIovecArrayCarriesItsBuffers() {
        let capture = assemble([(Chunk.iovArray, [1, 2]), (Chunk.iovEntry, [3]), (Chunk.iovEntry, [4])])
        #expect(capture?.bytes == [1, 2])
        #expect(capture?.elements.map(\.bytes) == [[3], [4]])
    }

    @Test func aMessageCarriesItsNameAndItsIovecs() {
        let capture = assemble([(0, [9]), (Chunk.messageName, [2, 0]), (Chunk.iovArray, [1]), (Chunk.iovEntry, [5])])
        #expect(capture?.bytes == [9])
        #expect(capture?.name?.bytes == [2, 0])
        #expect(capture?.iovecs?.bytes == [1])
        #expect(capture?.iovecs?.elements.map(\.bytes) == [[5]])
        #expect(capture?.elements.isEmpty == true)
    }

    @Test func anInOutArgumentKeepsBothCopies() {
        let entry = assemble([(0, [0xff])])
        let exit = assemble([(Chunk.atExit, [0x01])])
        #expect(entry?.bytes == [0xff])
        #expect(exit?.bytes == [] && exit?.atExit?.bytes == [0x01])
    }
}
