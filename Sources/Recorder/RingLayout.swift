/// The recorder's ABI as bpf/recorder.h defines it (offsets checked against the object's BTF by
/// RecorderTests), for reading rings in user space.
enum RingLayout {
    static let pageShift = 12
    static let maxRecord = 8192
    static let sizeClasses = 5
    static let maxSlots = 1024
    static let headerSize = 64

    /// Ring bytes per CPU of a size class: 64 KiB, 256 KiB, 1 MiB, 4 MiB, 16 MiB.
    static func ringSize(sizeClass: Int) -> Int { (1 << 16) << (2 * sizeClass) }
    static func checkpointCount(sizeClass: Int) -> Int { ringSize(sizeClass: sizeClass) >> pageShift }
    static func checkpointsOffset(sizeClass: Int) -> Int { headerSize }
    static func dataOffset(sizeClass: Int) -> Int { headerSize + 8 * checkpointCount(sizeClass: sizeClass) }
    /// sizeof(struct sonde_ring_cN): one CPU's ring element.
    static func elementSize(sizeClass: Int) -> Int {
        dataOffset(sizeClass: sizeClass) + ringSize(sizeClass: sizeClass) + maxRecord
    }

    /// The size class that holds at least `bytes` per CPU (the largest when none does).
    static func sizeClass(forBytesPerCPU bytes: Int) -> Int {
        (0..<sizeClasses).first { ringSize(sizeClass: $0) >= bytes } ?? sizeClasses - 1
    }

    // struct sonde_ring_header
    static let headOffset = 0
    static let writtenOffset = 8
    static let droppedOffset = 16

    // struct sonde_rec_header and what follows it
    enum Record {
        static let size = 0          // u16
        static let type = 2          // u8
        static let chunkCount = 3    // u8
        static let number = 4        // u16
        static let flags = 6         // u16
        static let position = 8      // u32
        static let pid = 12          // u32
        static let tid = 16          // u32
        static let timestamp = 24    // u64
        static let headerSize = 32
        static let enterArgs = 32    // u64 x 6
        static let enterFixed = 80
        static let exitReturn = 32   // s64
        static let exitFixed = 40
        static let typeEnter: UInt8 = 1
        static let typeExit: UInt8 = 2
        static let typeSignal: UInt8 = 3
        static let typeThreadExit: UInt8 = 4
        static let typeStack: UInt8 = 5
        /// SONDE_REC_ENTRY_TIME: the exit carries its entry's timestamp (its own time is unknown).
        static let flagEntryTime: UInt16 = 1 << 0
    }

    // struct sonde_rec_signal
    enum Signal {
        static let event = 32        // u8: 1 generated, 2 delivered
        static let flags = 33        // u8
        static let result = 34       // u8
        static let handler = 40      // u64
        static let actionFlags = 48  // u64 (sa_flags)
        static let info = 56         // kernel_siginfo
        static let infoSize = 48
        static let size = 104
        static let generated: UInt8 = 1
        static let delivered: UInt8 = 2
        static let hasInfo: UInt8 = 1 << 0
        static let fromKernel: UInt8 = 1 << 1
        static let group: UInt8 = 1 << 2
    }

    // struct sonde_rec_thread_exit
    enum ThreadExit {
        static let exitCode = 32     // s32 wait status
        static let groupDead = 36    // u8
        static let size = 40
    }

    // struct sonde_rec_stack and struct sonde_rec_frame_file
    enum Stack {
        static let frameCount = 32   // u32
        static let fileCount = 36    // u32
        static let exePathStart = 40 // u16
        static let exeFlags = 42     // u16
        static let frames = 48       // u64 x maxFrames
        static let files = 560       // frame files x maxFrames
        static let exePath = 2608
        static let maxFrames = 64
        static let pathMax = 256
        static let size = 2864
        static let pathTruncated: UInt16 = 1 << 0
        enum File {
            static let status = 0, buildID = 4, offset = 24
            static let buildIDSize = 20
            static let size = 32
            static let valid: Int32 = 1
        }
    }

    enum Chunk {
        static let headerSize = 4
        static let truncated: UInt8 = 1 << 0
        static let fault: UInt8 = 1 << 1
        static let argvEntry: UInt8 = 1 << 2
        static let argvMore: UInt8 = 1 << 3
        static let iovArray: UInt8 = 1 << 4
        static let iovEntry: UInt8 = 1 << 5
        static let messageName: UInt8 = 1 << 6
        static let atExit: UInt8 = 1 << 7
    }
}
