import BPFKit
import BPFObjects
import Containers
import Foundation
import Glibc
import LinuxKit
import Syscalls
import Testing
@testable import Recorder

/// The recorder's records as the BPF program lays them out, checked against the compiler's layout.
@Suite struct RecorderLayoutTests {
    @Test func userSpaceReadsWhatTheProgramWrites() throws {
        let object = try BPFObject(name: "recorder", bytes: EmbeddedBPF.recorder.bytes)
        let header = try #require(object.structLayout("sonde_rec_header"))
        typealias R = RingLayout.Record
        #expect(header.size == R.headerSize)
        #expect(header.offsets["size"] == R.size && header.offsets["type"] == R.type)
        #expect(header.offsets["nchunks"] == R.chunkCount && header.offsets["nr"] == R.number)
        #expect(header.offsets["flags"] == R.flags)
        #expect(header.offsets["position"] == R.position && header.offsets["pid"] == R.pid)
        #expect(header.offsets["tid"] == R.tid && header.offsets["timestamp_ns"] == R.timestamp)
        let enter = try #require(object.structLayout("sonde_rec_enter"))
        #expect(enter.size == R.enterFixed && enter.offsets["args"] == R.enterArgs)
        let exit = try #require(object.structLayout("sonde_rec_exit"))
        #expect(exit.size == R.exitFixed && exit.offsets["ret"] == R.exitReturn)
        #expect(try #require(object.structLayout("sonde_rec_chunk")).size == RingLayout.Chunk.headerSize)
        typealias S = RingLayout.Signal
        let signal = try #require(object.structLayout("sonde_rec_signal"))
        #expect(signal.size == S.size && signal.offsets["event"] == S.event && signal.offsets["flags"] == S.flags)
        #expect(signal.offsets["result"] == S.result && signal.offsets["handler"] == S.handler)
        #expect(signal.offsets["sa_flags"] == S.actionFlags && signal.offsets["info"] == S.info)
        let threadExit = try #require(object.structLayout("sonde_rec_thread_exit"))
        #expect(threadExit.size == RingLayout.ThreadExit.size)
        #expect(threadExit.offsets["exit_code"] == RingLayout.ThreadExit.exitCode)
        #expect(threadExit.offsets["group_dead"] == RingLayout.ThreadExit.groupDead)
        typealias K = RingLayout.Stack
        let stack = try #require(object.structLayout("sonde_rec_stack"))
        #expect(stack.size == K.size && stack.offsets["nframes"] == K.frameCount && stack.offsets["nfiles"] == K.fileCount)
        #expect(stack.offsets["exe_path_start"] == K.exePathStart && stack.offsets["exe_flags"] == K.exeFlags)
        #expect(stack.offsets["frames"] == K.frames && stack.offsets["files"] == K.files && stack.offsets["exe_path"] == K.exePath)
        let file = try #require(object.structLayout("sonde_rec_frame_file"))
        #expect(file.size == K.File.size && file.offsets["build_id"] == K.File.buildID && file.offsets["offset"] == K.File.offset)
        let ringHeader = try #require(object.structLayout("sonde_ring_header"))
        #expect(ringHeader.size == RingLayout.headerSize)
        #expect(ringHeader.offsets["head"] == RingLayout.headOffset && ringHeader.offsets["written"] == RingLayout.writtenOffset)
        #expect(ringHeader.offsets["dropped"] == RingLayout.droppedOffset)
        for sizeClass in 0..<RingLayout.sizeClasses {
            let ring = try #require(object.structLayout("sonde_ring_c\(sizeClass)"))
            #expect(ring.size == RingLayout.elementSize(sizeClass: sizeClass))
            #expect(ring.offsets["checkpoints"] == RingLayout.checkpointsOffset(sizeClass: sizeClass))
            #expect(ring.offsets["data"] == RingLayout.dataOffset(sizeClass: sizeClass))
        }
        let target = try #require(object.structLayout("sonde_rec_target"))
        #expect(target.size == MemoryLayout<TargetValue>.size)
        #expect(target.offsets["buffer_capture"] == MemoryLayout<TargetValue>.offset(of: \.bufferCapture))
        let filterEntry = try #require(object.structLayout("sonde_rec_filter_entry"))
        #expect(filterEntry.size == MemoryLayout<FilterEntry>.size)
        #expect(filterEntry.offsets["target"] == MemoryLayout<FilterEntry>.offset(of: \.target))
        let config = try #require(object.structLayout("sonde_rec_config"))
        #expect(config.size == MemoryLayout<ConfigValue>.size)
        let schema = try #require(object.structLayout("sonde_syscall_schema"))
        #expect(schema.size == MemoryLayout<SchemaValue>.size)
        #expect(schema.offsets["struct_size"] == MemoryLayout<SchemaValue>.offset(of: \.structSize))
        #expect(schema.offsets["exit_captures"] == MemoryLayout<SchemaValue>.offset(of: \.exitCaptures))
        #expect(schema.offsets["single_enter"] == MemoryLayout<SchemaValue>.offset(of: \.singleEnter))
        #expect(schema.offsets["single_exit"] == MemoryLayout<SchemaValue>.offset(of: \.singleExit))
        // One capture: captured directly; several, or an argv: the loop.
        #expect(SchemaValue([.value, .outputBuffer(lengthArgument: 2), .value]).singleExit == 1)
        #expect(SchemaValue([.value, .string, .value]).singleEnter == 1)
        #expect(SchemaValue([.string, .string]).singleEnter == SchemaValue.many)
        #expect(SchemaValue([.string, .stringArray, .value]).singleEnter == SchemaValue.many)
    }

    @Test func sizeClassesRoundUp() {
        #expect(RingLayout.sizeClass(forBytesPerCPU: 1) == 0)
        #expect(RingLayout.sizeClass(forBytesPerCPU: 1 << 20) == 2)
        #expect(RingLayout.sizeClass(forBytesPerCPU: (1 << 20) + 1) == 3)
        #expect(RingLayout.sizeClass(forBytesPerCPU: 1 << 30) == 4)
    }
}
