#if canImport(Glibc)
import Glibc
#endif

/// The function symbols and build id of one ELF64 little-endian x86-64 executable or shared
/// object, to name the frames of a crashed process's user stack as `strace -k` does.
///
/// Why so careful: the files come from inside a container, so every byte is hostile. Every count,
/// offset and size is checked against the file before it is used, nothing is read past the end,
/// no more than `maxBytesRead` bytes are read in all, and tables of absurd size are refused. A file
/// that cannot be an executable throws; a symbol or note table that is broken is skipped (the
/// reason is kept in `warnings`) so that the rest of the file still serves.
///
/// Everything is read once, in `init`, and symbols are sorted then: a crash dump names some thirty
/// frames across a handful of files, each lookup is a binary search.
public struct ELFImage: Sendable {
    /// At most this many bytes are read from one file, all tables together.
    public static let maxBytesRead: UInt64 = 256 << 20
    /// A symbol table with more entries is refused (big C++ programs have about a million).
    public static let maxSymbolEntries = 4 << 20
    /// A string table larger than this is refused.
    public static let maxStringTableBytes = 128 << 20

    /// The GNU build id (NT_GNU_BUILD_ID note), which names the exact build of the file.
    public let buildID: [UInt8]?
    /// True when the file has no .symtab: only exported (.dynsym) functions can be named.
    public let isStripped: Bool
    /// Why a table was skipped (a symbol table past the end of the file, say); empty for sane files.
    public let warnings: [String]

    private let segments: [LoadSegment]
    private let sections: [AllocatedSection]
    /// .symtab then .dynsym, in the order lookups try them.
    private let tables: [SymbolTable]

    /// Reads the ELF file open as `fileDescriptor` (with pread: the file position is left alone).
    /// The caller keeps and closes the descriptor.
    public init(fileDescriptor fd: Int32) throws(SondeError) {
        var st = stat()
        try systemCall("fstat fd \(fd)") { fstat(fd, &st) }
        // Only a regular file has a size to check offsets against, and reading it cannot block:
        // a FIFO or a device planted where a binary should be would hang or never end.
        guard st.st_mode & S_IFMT == S_IFREG else { throw ELFImage.malformed("not a regular file") }
        var file = BoundedReader(fd: fd, size: UInt64(clamping: st.st_size), budget: ELFImage.maxBytesRead)
        guard file.size >= Layout.headerSize else {
            throw ELFImage.malformed("\(file.size) bytes, shorter than an ELF header")
        }

        let header = try Header(try file.read(at: 0, count: Layout.headerSize, "ELF header"))
        // Section header 0 holds the section and program header counts when they overflow the header's.
        var section0: SectionHeader?
        if header.sectionHeaderOffset != 0 {
            section0 = SectionHeader(try file.read(at: header.sectionHeaderOffset, count: Layout.sectionHeaderSize, "section header 0"), at: 0, index: 0)
        }

        let programHeaders = try ELFImage.readProgramHeaders(header, section0: section0, file: &file)
        var segments: [LoadSegment] = []
        for ph in programHeaders where ph.type == Layout.PT_LOAD && ph.fileSize > 0 {
            guard ph.offset <= UInt64.max - ph.fileSize, ph.virtualAddress <= UInt64.max - ph.fileSize else {
                throw ELFImage.malformed("a PT_LOAD segment wraps around the address space")
            }
            segments.append(LoadSegment(offset: ph.offset, fileSize: ph.fileSize, virtualAddress: ph.virtualAddress,
                                        executable: ph.flags & Layout.PF_X != 0))
        }

        let sectionHeaders = try ELFImage.readSectionHeaders(header, section0: section0, file: &file)
        // Allocated sections say which section an address is in; TLS templates (.tbss) overlap
        // the addresses of the sections after them, so they are left out.
        self.sections = sectionHeaders.compactMap { sh in
            guard sh.flags & Layout.SHF_ALLOC != 0, sh.flags & Layout.SHF_TLS == 0, sh.size > 0,
                  sh.address <= UInt64.max - sh.size else { return nil }
            return AllocatedSection(address: sh.address, size: sh.size, index: sh.index)
        }

        var warnings: [String] = []
        var tables: [SymbolTable] = []
        let symtab = sectionHeaders.first { $0.type == Layout.SHT_SYMTAB }
        let dynsym = sectionHeaders.first { $0.type == Layout.SHT_DYNSYM }
        for (name, sh) in [(".symtab", symtab), (".dynsym", dynsym)] {
            guard let sh else { continue }
            do throws(SondeError) {
                tables.append(try SymbolTable(sh, name: name, sections: sectionHeaders, file: &file))
            } catch {
                warnings.append("\(name) skipped: \(error.message)")
            }
        }

        // The build id: from the PT_NOTE segments (what the loader maps), else from SHT_NOTE
        // sections (a file whose program headers lost the note).
        var noteRegions = programHeaders.filter { $0.type == Layout.PT_NOTE }.map { NoteRegion(offset: $0.offset, size: $0.fileSize, align: $0.align) }
        noteRegions += sectionHeaders.filter { $0.type == Layout.SHT_NOTE }.map { NoteRegion(offset: $0.offset, size: $0.size, align: $0.alignment) }
        let (buildID, noteProblem) = ELFImage.findBuildID(in: noteRegions, file: &file)
        // One line, however many hostile notes there were.
        if buildID == nil, let noteProblem { warnings.append(noteProblem) }

        self.segments = segments
        self.tables = tables
        self.buildID = buildID
        self.isStripped = symtab == nil
        self.warnings = warnings
    }

    /// Only the build id of the ELF file open as `fileDescriptor` (its PT_NOTE segments), without
    /// reading symbols: to find which of many candidate files a recorded build id names.
    public static func buildID(fileDescriptor fd: Int32) -> [UInt8]? {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var file = BoundedReader(fd: fd, size: UInt64(clamping: st.st_size), budget: UInt64(Layout.maxNoteBytes) + (1 << 16) + 64)
        guard file.size >= Layout.headerSize,
              let header = try? Header(try file.read(at: 0, count: Layout.headerSize, "ELF header")) else { return nil }
        var section0: SectionHeader?
        if header.sectionHeaderOffset != 0 {
            section0 = try? SectionHeader(file.read(at: header.sectionHeaderOffset, count: Layout.sectionHeaderSize, "section header 0"), at: 0, index: 0)
        }
        guard let programHeaders = try? readProgramHeaders(header, section0: section0, file: &file) else { return nil }
        let regions = programHeaders.filter { $0.type == Layout.PT_NOTE }.map { NoteRegion(offset: $0.offset, size: $0.fileSize, align: $0.align) }
        return findBuildID(in: regions, file: &file).buildID
    }

    /// The first NT_GNU_BUILD_ID in the note regions, reading at most maxNoteBytes of them.
    private static func findBuildID(in regions: [NoteRegion], file: inout BoundedReader) -> (buildID: [UInt8]?, problem: String?) {
        var noteBudget = UInt64(Layout.maxNoteBytes)
        var problem: String?
        for region in regions {
            guard region.size <= noteBudget else {
                problem = "notes skipped: more than \(Layout.maxNoteBytes) bytes of them"
                continue
            }
            do throws(SondeError) {
                let notes = try file.read(at: region.offset, count: Int(region.size), "note")
                noteBudget -= region.size
                if let found = findBuildID(notes, align: region.align) { return (found, nil) }
            } catch {
                problem = "note skipped: \(error.message)"
            }
        }
        return (nil, problem)
    }

    /// Opens `path` and reads it. O_NONBLOCK so that a FIFO planted at `path` does not block the
    /// open; it is then refused as not a regular file. For paths inside a container, open the file
    /// with a safe opener and use `init(fileDescriptor:)`.
    public init(path: String) throws(SondeError) {
        let fd = try systemCall("open \(path)") { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        defer { close(fd) }
        do {
            try self.init(fileDescriptor: fd)
        } catch {
            throw SondeError(error.code, "\(path): \(error.message)", hint: error.hint, errno: error.errno, details: error.details)
        }
    }

    /// The function containing the byte at `fileOffset` of the file (a program counter as
    /// /proc/PID/maps gives it: pc - start + offset), and how far into it that byte is.
    /// nil when no loaded segment holds the offset or no function symbol covers it.
    public func symbol(fileOffset: UInt64) -> (name: String, offset: UInt64)? {
        guard let address = virtualAddress(fileOffset: fileOffset) else { return nil }
        return symbol(virtualAddress: address)
    }

    /// The function containing `address` (a link-time virtual address, as `nm` prints it), and
    /// how far into it the address is. .symtab is tried first, then .dynsym.
    public func symbol(virtualAddress address: UInt64) -> (name: String, offset: UInt64)? {
        for table in tables {
            if let found = table.lookup(address, sectionOf: section(containing:)) { return found }
        }
        return nil
    }

    /// The link-time address of a file offset, through the PT_LOAD segment that holds it.
    public func virtualAddress(fileOffset: UInt64) -> UInt64? {
        // Segments may share a page in the file: the executable one is what a pc points into.
        let holding = segments.filter { fileOffset >= $0.offset && fileOffset - $0.offset < $0.fileSize }
        guard let segment = holding.first(where: \.executable) ?? holding.first else { return nil }
        return segment.virtualAddress + (fileOffset - segment.offset)
    }

    private func section(containing address: UInt64) -> Int? {
        sections.first { address >= $0.address && address - $0.address < $0.size }?.index
    }

    static func malformed(_ message: String) -> SondeError {
        SondeError(.malformedInput, "malformed ELF file: \(message)")
    }

    private static func readProgramHeaders(_ header: Header, section0: SectionHeader?, file: inout BoundedReader) throws(SondeError) -> [ProgramHeader] {
        var count = Int(header.programHeaderCount)
        // PN_XNUM: the real count is in section header 0.
        if count == 0xffff {
            guard let section0 else { throw malformed("e_phnum is PN_XNUM but there is no section header 0") }
            count = Int(section0.info)
        }
        guard count > 0 else { return [] }
        guard header.programHeaderEntrySize == Layout.programHeaderSize else {
            throw malformed("e_phentsize is \(header.programHeaderEntrySize), not \(Layout.programHeaderSize)")
        }
        // The kernel refuses to exec a file with more than 64 KiB of program headers.
        guard count * Layout.programHeaderSize <= 65536 else { throw malformed("\(count) program headers") }
        let bytes = try file.read(at: header.programHeaderOffset, count: count * Layout.programHeaderSize, "program header table")
        return (0..<count).map { ProgramHeader(bytes, at: $0 * Layout.programHeaderSize) }
    }

    private static func readSectionHeaders(_ header: Header, section0: SectionHeader?, file: inout BoundedReader) throws(SondeError) -> [SectionHeader] {
        guard let section0 else { return [] }
        guard header.sectionHeaderEntrySize == Layout.sectionHeaderSize else {
            throw malformed("e_shentsize is \(header.sectionHeaderEntrySize), not \(Layout.sectionHeaderSize)")
        }
        // More than 0xff00 sections: e_shnum is 0 and the count is in section header 0.
        let count = header.sectionHeaderCount != 0 ? UInt64(header.sectionHeaderCount) : section0.size
        guard count > 0 else { return [] }
        guard count <= UInt64(Layout.maxSections) else { throw malformed("\(count) section headers") }
        let bytes = try file.read(at: header.sectionHeaderOffset, count: Int(count) * Layout.sectionHeaderSize, "section header table")
        return (0..<Int(count)).map { SectionHeader(bytes, at: $0 * Layout.sectionHeaderSize, index: $0) }
    }

    /// The descriptor of the first NT_GNU_BUILD_ID note owned by "GNU" in `notes`, if any.
    static func findBuildID(_ notes: [UInt8], align: UInt64) -> [UInt8]? {
        // Notes are padded to 4 bytes, or to 8 in segments aligned so (.note.gnu.property).
        let alignment = align == 8 ? 8 : 4
        func aligned(_ value: Int) -> Int { (value + alignment - 1) & ~(alignment - 1) }
        var position = 0
        while notes.count - position >= 12 {
            let nameSize = Int(notes.u32(position)), descriptorSize = Int(notes.u32(position + 4))
            let type = notes.u32(position + 8)
            let nameStart = position + 12
            // Sizes are at most 2^32 each: these sums cannot overflow an Int.
            let descriptorStart = aligned(nameStart + nameSize)
            let descriptorEnd = descriptorStart + descriptorSize
            guard descriptorEnd <= notes.count else { return nil }
            if type == Layout.NT_GNU_BUILD_ID, nameSize == 4, notes[nameStart..<nameStart + 4].elementsEqual([0x47, 0x4e, 0x55, 0]),
               (1...Layout.maxBuildIDBytes).contains(descriptorSize) {
                return Array(notes[descriptorStart..<descriptorEnd])
            }
            position = aligned(descriptorEnd)
        }
        return nil
    }
}

// MARK: - Layout

extension ELFImage {
    /// The ELF64 constants and record sizes this reader uses (see elf(5)).
    enum Layout {
        static let headerSize = 64
        static let programHeaderSize = 56
        static let sectionHeaderSize = 64
        static let symbolSize = 24

        static let ET_EXEC: UInt16 = 2, ET_DYN: UInt16 = 3
        static let EM_X86_64: UInt16 = 62
        static let PT_LOAD: UInt32 = 1, PT_NOTE: UInt32 = 4
        static let PF_X: UInt32 = 1
        static let SHT_SYMTAB: UInt32 = 2, SHT_STRTAB: UInt32 = 3, SHT_NOTE: UInt32 = 7, SHT_NOBITS: UInt32 = 8, SHT_DYNSYM: UInt32 = 11
        static let SHF_ALLOC: UInt64 = 0x2, SHF_TLS: UInt64 = 0x400
        static let STT_FUNC: UInt8 = 2, STT_GNU_IFUNC: UInt8 = 10
        static let STB_GLOBAL: UInt8 = 1, STB_WEAK: UInt8 = 2
        static let SHN_LORESERVE: UInt16 = 0xff00
        static let NT_GNU_BUILD_ID: UInt32 = 3

        /// Real files have a few dozen sections; 65536 headers are 4 MiB.
        static let maxSections = 65536
        /// All notes read while looking for the build id (a real file has a few hundred bytes).
        static let maxNoteBytes = 1 << 20
        /// ld writes 16 (md5, uuid) or 20 (sha1) bytes; --build-id=0x... may be longer.
        static let maxBuildIDBytes = 64
        /// Longer names (deeply templated C++) are cut here in what lookups return.
        static let maxNameBytes = 4096
    }

    struct Header {
        let programHeaderOffset: UInt64, sectionHeaderOffset: UInt64
        let programHeaderEntrySize: Int, programHeaderCount: UInt16
        let sectionHeaderEntrySize: Int, sectionHeaderCount: UInt16

        init(_ b: [UInt8]) throws(SondeError) {
            guard b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46 else { throw ELFImage.malformed("no ELF magic") }
            guard b[4] == 2 else { throw ELFImage.malformed("not a 64-bit ELF file (class \(b[4]))") }
            guard b[5] == 1 else { throw ELFImage.malformed("not a little-endian ELF file (data encoding \(b[5]))") }
            guard b[6] == 1 else { throw ELFImage.malformed("unknown ELF version \(b[6])") }
            let type = b.u16(16), machine = b.u16(18)
            guard type == Layout.ET_EXEC || type == Layout.ET_DYN else {
                throw ELFImage.malformed("type \(type) is neither an executable nor a shared object")
            }
            guard machine == Layout.EM_X86_64 else { throw ELFImage.malformed("machine \(machine) is not x86-64") }
            programHeaderOffset = b.u64(32)
            sectionHeaderOffset = b.u64(40)
            programHeaderEntrySize = Int(b.u16(54))
            programHeaderCount = b.u16(56)
            sectionHeaderEntrySize = Int(b.u16(58))
            sectionHeaderCount = b.u16(60)
        }
    }

    struct ProgramHeader {
        let type: UInt32, flags: UInt32
        let offset: UInt64, virtualAddress: UInt64, fileSize: UInt64, align: UInt64

        init(_ b: [UInt8], at o: Int) {
            type = b.u32(o); flags = b.u32(o + 4)
            offset = b.u64(o + 8); virtualAddress = b.u64(o + 16); fileSize = b.u64(o + 32); align = b.u64(o + 48)
        }
    }

    struct SectionHeader {
        let index: Int
        let type: UInt32, flags: UInt64
        let address: UInt64, offset: UInt64, size: UInt64
        let link: UInt32, info: UInt32, alignment: UInt64, entrySize: UInt64

        /// Section header `index`, found at byte `o` of `b`.
        init(_ b: [UInt8], at o: Int, index: Int) {
            self.index = index
            type = b.u32(o + 4); flags = b.u64(o + 8)
            address = b.u64(o + 16); offset = b.u64(o + 24); size = b.u64(o + 32)
            link = b.u32(o + 40); info = b.u32(o + 44); alignment = b.u64(o + 48); entrySize = b.u64(o + 56)
        }
    }

    struct LoadSegment: Sendable {
        let offset: UInt64, fileSize: UInt64, virtualAddress: UInt64
        let executable: Bool
    }

    struct AllocatedSection: Sendable {
        let address: UInt64, size: UInt64
        let index: Int
    }

    struct NoteRegion {
        let offset: UInt64, size: UInt64, align: UInt64
    }
}

// MARK: - Symbols

extension ELFImage {
    /// The function symbols of one symbol table, sorted by address, with their string table.
    struct SymbolTable: Sendable {
        struct Function: Sendable {
            let address: UInt64
            let size: UInt64
            let nameOffset: UInt32
            let section: UInt16
            /// Among aliases at one address, the global name is shown before a weak or local one.
            let rank: UInt8
        }

        let functions: [Function]
        /// reach[i]: the highest end address of functions[0...i]; a lookup walks back from the last
        /// function starting at or below the address only while an earlier one could still cover it.
        let reach: [UInt64]
        let strings: [UInt8]

        init(_ sh: SectionHeader, name: String, sections: [SectionHeader], file: inout BoundedReader) throws(SondeError) {
            guard sh.type != Layout.SHT_NOBITS else { throw ELFImage.malformed("\(name) has no contents") }
            guard sh.entrySize == UInt64(Layout.symbolSize) else { throw ELFImage.malformed("\(name) entry size is \(sh.entrySize)") }
            guard sh.size % UInt64(Layout.symbolSize) == 0 else { throw ELFImage.malformed("\(name) size \(sh.size) is not a whole number of entries") }
            let count = sh.size / UInt64(Layout.symbolSize)
            guard count <= UInt64(ELFImage.maxSymbolEntries) else { throw ELFImage.malformed("\(name) has \(count) entries") }

            guard Int(sh.link) < sections.count, sh.link != 0 else { throw ELFImage.malformed("\(name) links to no string table") }
            let stringSection = sections[Int(sh.link)]
            guard stringSection.type == Layout.SHT_STRTAB else { throw ELFImage.malformed("\(name) links to a section that is not a string table") }
            guard stringSection.size > 0, stringSection.size <= UInt64(ELFImage.maxStringTableBytes) else {
                throw ELFImage.malformed("the string table of \(name) has \(stringSection.size) bytes")
            }
            // Check the symbols' extent before reading the strings: a refused table costs no read.
            try file.check(at: sh.offset, count: Int(sh.size), name)
            let strings = try file.read(at: stringSection.offset, count: Int(stringSection.size), "string table of \(name)")
            // A string table ends with a NUL, so every name found in it ends before the table does.
            guard strings.last == 0 else { throw ELFImage.malformed("the string table of \(name) does not end with a NUL") }

            var functions: [Function] = []
            let chunkEntries = 4096
            var index: UInt64 = 0
            while index < count {
                let entries = Int(min(UInt64(chunkEntries), count - index))
                let bytes = try file.read(at: sh.offset + index * UInt64(Layout.symbolSize), count: entries * Layout.symbolSize, name)
                for entry in 0..<entries {
                    let o = entry * Layout.symbolSize
                    let info = bytes[o + 4], kind = info & 0xf, binding = info >> 4
                    guard kind == Layout.STT_FUNC || kind == Layout.STT_GNU_IFUNC else { continue }
                    let nameOffset = bytes.u32(o), section = bytes.u16(o + 6)
                    // Undefined (imported) functions and names outside the table are not this file's.
                    guard section != 0, nameOffset != 0, Int(nameOffset) < strings.count else { continue }
                    let rank: UInt8 = binding == Layout.STB_GLOBAL ? 2 : binding == Layout.STB_WEAK ? 1 : 0
                    functions.append(Function(address: bytes.u64(o + 8), size: bytes.u64(o + 16), nameOffset: nameOffset, section: section, rank: rank))
                }
                index += UInt64(entries)
            }
            functions.sort { a, b in
                (a.address, a.rank, a.size, a.nameOffset) < (b.address, b.rank, b.size, b.nameOffset)
            }
            var reach: [UInt64] = []
            reach.reserveCapacity(functions.count)
            var highest: UInt64 = 0
            for function in functions {
                let (end, overflow) = function.address.addingReportingOverflow(function.size)
                highest = max(highest, overflow ? .max : end)
                reach.append(highest)
            }
            self.functions = functions
            self.reach = reach
            self.strings = strings
        }

        func lookup(_ address: UInt64, sectionOf: (UInt64) -> Int?) -> (name: String, offset: UInt64)? {
            // The first function starting above the address.
            var low = 0, high = functions.count
            while low < high {
                let middle = (low + high) / 2
                if functions[middle].address <= address { low = middle + 1 } else { high = middle }
            }
            let last = low - 1
            guard last >= 0 else { return nil }
            // The innermost function covering the address: the last-starting one (and, at one
            // address, the best-ranked, which sorts last).
            var index = last
            while index >= 0 && reach[index] > address {
                let function = functions[index]
                if address - function.address < function.size { return named(function, address) }
                index -= 1
            }
            // None covers it: a size-0 function (hand-written assembly) starting just before is
            // taken, but only within its own section, so as not to run on into unrelated code.
            guard let section = sectionOf(address) else { return nil }
            index = last
            let start = functions[last].address
            while index >= 0 && functions[index].address == start {
                let function = functions[index]
                if function.size == 0, function.section < Layout.SHN_LORESERVE, Int(function.section) == section {
                    return named(function, address)
                }
                index -= 1
            }
            return nil
        }

        private func named(_ function: Function, _ address: UInt64) -> (name: String, offset: UInt64)? {
            let start = Int(function.nameOffset)
            // The table ends with a NUL (checked when loaded), so this search ends inside it.
            var end = start
            while strings[end] != 0 && end - start < Layout.maxNameBytes { end += 1 }
            let name = String(decoding: strings[start..<end], as: UTF8.self)
            return (name, address - function.address)
        }
    }
}

// MARK: - Reading

extension ELFImage {
    /// pread within the file's size and a total byte budget: a hostile header can neither make the
    /// reader run past the end of the file nor make it read (and allocate) without bound.
    struct BoundedReader {
        let fd: Int32
        let size: UInt64
        var budget: UInt64

        /// Throws unless `count` bytes at `offset` lie within the file and the budget.
        func check(at offset: UInt64, count: Int, _ what: String) throws(SondeError) {
            guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
                throw ELFImage.malformed("\(what) (\(count) bytes at offset \(offset)) runs past the end of the \(size)-byte file")
            }
            guard UInt64(count) <= budget else {
                throw SondeError(.resourceExhausted, "ELF file: reading \(what) (\(count) bytes) would pass the \(ELFImage.maxBytesRead >> 20) MiB read limit")
            }
        }

        mutating func read(at offset: UInt64, count: Int, _ what: String) throws(SondeError) -> [UInt8] {
            try check(at: offset, count: count, what)
            budget -= UInt64(count)
            var bytes = [UInt8](repeating: 0, count: count)
            let fd = self.fd
            // withUnsafeMutableBytes rethrows untyped errors: carry the typed one out by hand.
            let failure: SondeError? = bytes.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < count {
                    let got = retryingInterrupted { pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
                    if got > 0 { done += got; continue }
                    if got < 0 { return SondeError.system("cannot read \(what)", Errno.current) }
                    // The file shrank since fstat.
                    return ELFImage.malformed("the file ended while reading \(what)")
                }
                return nil
            }
            if let failure { throw failure }
            return bytes
        }
    }
}

extension [UInt8] {
    // Little-endian fields at byte offsets the callers have checked to lie inside the array.
    fileprivate func u16(_ offset: Int) -> UInt16 {
        withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }
    fileprivate func u32(_ offset: Int) -> UInt32 {
        withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }
    fileprivate func u64(_ offset: Int) -> UInt64 {
        withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
}
