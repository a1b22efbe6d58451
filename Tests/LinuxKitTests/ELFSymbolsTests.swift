import Foundation
import Glibc
import Testing
import TestSupport
@testable import LinuxKit

/// ELFImage against programs gcc builds at test time, with binutils (readelf, strip) as the
/// oracle, and against hostile files made from them.
@Suite struct ELFSymbolsTests {
    @Test func namesTheFunctionOfAFileOffsetInAStaticProgram() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("static", ["-static", "-O0", "-g", "-fno-omit-frame-pointer"])
        let oracle = try ReadelfOracle(program)
        let image = try ELFImage(path: program)
        #expect(!image.isStripped)
        #expect(image.warnings.isEmpty)

        let crash = try #require(oracle.functions.first { $0.name == "crash_here" && $0.table == ".symtab" })
        #expect(crash.size > 1)
        let start = try #require(oracle.fileOffset(of: crash.value))
        for delta in [0, 1, crash.size / 2, crash.size - 1] {
            let found = image.symbol(fileOffset: start + delta)
            #expect(found?.name == "crash_here" && found?.offset == delta, "crash_here+\(delta): \(String(describing: found))")
        }
        #expect(image.symbol(fileOffset: start + crash.size)?.name != "crash_here")
        #expect(image.symbol(virtualAddress: crash.value + 3)?.name == "crash_here")

        // A static function is in .symtab only.
        let helper = try #require(oracle.functions.first { $0.name == "helper_static" })
        #expect(image.symbol(virtualAddress: helper.value + 2)?.name == "helper_static")

        // Hand-written assembly without .size: taken from the symbol just before, same section.
        let bare = try #require(oracle.functions.first { $0.name == "asm_nosize" && $0.table == ".symtab" })
        #expect(bare.size == 0)
        let inBare = image.symbol(fileOffset: try #require(oracle.fileOffset(of: bare.value + 2)))
        #expect(inBare?.name == "asm_nosize" && inBare?.offset == 2)

        // Data is not code: an address in .rodata names no function.
        let banner = try #require(oracle.objects["banner"])
        #expect(image.symbol(virtualAddress: banner) == nil)
        // Nor does an offset outside every PT_LOAD segment.
        #expect(image.symbol(fileOffset: UInt64(try fileSize(program)) + 100) == nil)
    }

    @Test func everySizedFunctionOfAStaticProgramIsFoundWhereReadelfPutsIt() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("static", ["-static", "-O0"])
        let oracle = try ReadelfOracle(program)
        let image = try ELFImage(path: program)
        let sized = oracle.functions.filter { $0.table == ".symtab" && $0.size > 0 }
        #expect(sized.count > 500, "a static glibc program has hundreds of functions")
        for function in sized {
            let address = function.value + function.size / 2
            let offset = try #require(oracle.fileOffset(of: address), "\(function.name) is in no PT_LOAD")
            let found = try #require(image.symbol(fileOffset: offset), "nothing at \(function.name)")
            // Aliases share an address: the one returned must be a function readelf lists there.
            let start = address - found.offset
            #expect(oracle.functions.contains { $0.name == found.name && $0.value == start && address - start < max($0.size, 1) },
                    "\(function.name)+\(function.size / 2) named \(found.name)+\(found.offset)")
        }
    }

    @Test func aStrippedProgramHasNoSymbols() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("static", ["-static", "-O0", "-g", "-fno-omit-frame-pointer"])
        let oracle = try ReadelfOracle(program)
        let crash = try #require(oracle.functions.first { $0.name == "crash_here" })
        let offset = try #require(oracle.fileOffset(of: crash.value + 1))
        try work.run("strip", [program])

        let image = try ELFImage(path: program)
        #expect(image.isStripped)
        #expect(image.symbol(fileOffset: offset) == nil)
        #expect(image.symbol(virtualAddress: crash.value + 1) == nil)
    }

    @Test func exportedFunctionsOfAStrippedPIEAndLibraryComeFromDynsym() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let pie = try work.build("pie", ["-O0", "-fPIE", "-pie", "-rdynamic"])
        let library = try work.build("libdemo.so", ["-O0", "-fPIC", "-shared"])
        for path in [pie, library] {
            let oracle = try ReadelfOracle(path)
            let helper = try #require(oracle.functions.first { $0.name == "helper_static" })
            try work.run("strip", [path])
            let image = try ELFImage(path: path)
            #expect(image.isStripped)

            let exported = oracle.functions.filter { $0.table == ".dynsym" && $0.size > 0 }
            #expect(exported.contains { $0.name == "crash_here" })
            for function in exported {
                let offset = try #require(oracle.fileOffset(of: function.value + function.size - 1))
                let found = image.symbol(fileOffset: offset)
                #expect(found?.name == function.name && found?.offset == function.size - 1, "\(path): \(function.name)")
            }
            // A static function is not exported: stripping took its name away.
            #expect(image.symbol(virtualAddress: helper.value + 1)?.name != "helper_static")
        }
    }

    @Test func buildIDIsWhatReadelfPrints() throws {
        let work = try ELFWork()
        defer { work.remove() }
        for (name, flags) in [("static", ["-static"]), ("pie", ["-fPIE", "-pie"])] {
            let program = try work.build(name, flags + ["-Wl,--build-id=sha1"])
            let printed = try work.run("readelf", ["-n", program]).split(separator: "\n")
                .first { $0.contains("Build ID:") }?.split(separator: " ").last.map(String.init)
            let image = try ELFImage(path: program)
            #expect(image.buildID?.count == 20)
            #expect(image.buildID.map(hex) == printed)
        }
        let chosen = try work.build("chosen", ["-Wl,--build-id=0x0123456789abcdef"])
        #expect(try ELFImage(path: chosen).buildID == [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
        let none = try work.build("none", ["-Wl,--build-id=none"])
        #expect(try ELFImage(path: none).buildID == nil)
    }

    @Test func filesThatAreNotELFExecutablesThrow() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("pie", ["-fPIE", "-pie"])
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: program)))

        #expect(throws: SondeError.self) { try ELFImage(path: work.write("empty", [])) }
        #expect(throws: SondeError.self) { try ELFImage(path: work.write("truncated", Array(bytes.prefix(40)))) }
        var random = SplitMix(seed: 7)
        #expect(throws: SondeError.self) { try ELFImage(path: work.write("random", (0..<65536).map { _ in random.byte() })) }
        // A 32-bit file and an object file are not what a process runs.
        #expect(throws: SondeError.self) { try ELFImage(path: work.write("class32", patched(bytes, 4, [1]))) }
        #expect(throws: SondeError.self) { try ELFImage(path: work.write("relocatable", patched(bytes, 16, [1, 0]))) }
        // Not regular files: refused without reading, and a FIFO without a writer does not hang.
        #expect(throws: SondeError.self) { try ELFImage(path: work.path) }
        #expect(throws: SondeError.self) { try ELFImage(path: "/dev/zero") }
        let fifo = work.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: SondeError.self) { try ELFImage(path: fifo) }
        #expect(throws: SondeError.self) { try ELFImage(path: work.path + "/missing") }
    }

    @Test func headerTablesPastTheEndOfTheFileThrow() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("pie", ["-fPIE", "-pie"])
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: program)))
        let size = UInt64(bytes.count)

        let cases: [(String, [UInt8])] = [
            ("phoff past EOF", patched(bytes, 32, le(size - 8))),
            ("phoff huge", patched(bytes, 32, le(UInt64.max - 10))),
            ("phnum past EOF", patched(bytes, 56, le16(1000))),
            ("phnum PN_XNUM", patched(patched(bytes, 56, le16(0xffff)), Int(bytes.u64le(40)) + 44, le32(0xffff_ffff))),
            ("phentsize wrong", patched(bytes, 54, le16(32))),
            ("shoff past EOF", patched(bytes, 40, le(size + 4096))),
            ("shoff huge", patched(bytes, 40, le(UInt64.max - 63))),
            ("shnum past EOF", patched(bytes, 60, le16(0xfeff))),
            ("shnum in section 0, huge", patched(patched(bytes, 60, le16(0)), Int(bytes.u64le(40)) + 32, le(UInt64.max / 64))),
            ("shentsize wrong", patched(bytes, 58, le16(40))),
        ]
        for (name, file) in cases {
            #expect(throws: SondeError.self, "\(name)") { try ELFImage(path: work.write("case", file)) }
        }
    }

    @Test func brokenSymbolTablesAreSkippedNotTrusted() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("static", ["-static", "-O0"])
        let oracle = try ReadelfOracle(program)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: program)))
        let crash = try #require(oracle.functions.first { $0.name == "crash_here" })
        let symtab = try #require(oracle.sections.first { $0.name == ".symtab" })
        let strtab = try #require(oracle.sections.first { $0.name == ".strtab" })
        func header(_ section: ReadelfOracle.Section, _ field: Int) -> Int {
            Int(oracle.sectionHeaderOffset) + section.index * 64 + field
        }
        #expect(try ELFImage(path: program).symbol(virtualAddress: crash.value)?.name == "crash_here")

        var noNUL = bytes
        for i in Int(strtab.offset)..<Int(strtab.offset + strtab.size) { noNUL[i] = 0x41 }
        let cases: [(String, [UInt8])] = [
            ("symtab size huge", patched(bytes, header(symtab, 32), le(UInt64.max / 24 * 24))),
            ("symtab size past EOF", patched(bytes, header(symtab, 32), le(UInt64(bytes.count) / 24 * 24))),
            ("symtab offset past EOF", patched(bytes, header(symtab, 24), le(UInt64(bytes.count) + 1))),
            ("symtab entry size wrong", patched(bytes, header(symtab, 56), le(16))),
            ("symtab links to itself", patched(bytes, header(symtab, 40), le32(UInt32(symtab.index)))),
            ("symtab links nowhere", patched(bytes, header(symtab, 40), le32(0xffff_ffff))),
            ("strtab size huge", patched(bytes, header(strtab, 32), le(UInt64.max))),
            ("strtab past EOF", patched(bytes, header(strtab, 24), le(UInt64(bytes.count) - 10))),
            ("strtab without NUL", noNUL),
        ]
        for (name, file) in cases {
            let image = try ELFImage(path: work.write("case", file))
            #expect(!image.isStripped, "\(name)")
            #expect(!image.warnings.isEmpty, "\(name)")
            #expect(image.symbol(virtualAddress: crash.value) == nil, "\(name)")
            #expect(image.buildID != nil, "\(name): the rest of the file still serves")
        }
    }

    @Test func aSparseFourGigabyteFileWithAbsurdTablesIsNotRead() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("static", ["-static", "-O0"])
        let oracle = try ReadelfOracle(program)
        let symtab = try #require(oracle.sections.first { $0.name == ".symtab" })
        let strtab = try #require(oracle.sections.first { $0.name == ".strtab" })
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: program)))
        let symtabHeader = Int(oracle.sectionHeaderOffset) + symtab.index * 64
        let strtabHeader = Int(oracle.sectionHeaderOffset) + strtab.index * 64
        // 3 GiB of symbols at 1 GiB, and a 2 GiB string table: both within the file, both absurd.
        bytes = patched(bytes, symtabHeader + 24, le(1 << 30))
        bytes = patched(bytes, symtabHeader + 32, le(3 << 30))
        bytes = patched(bytes, strtabHeader + 24, le(2 << 30))
        bytes = patched(bytes, strtabHeader + 32, le(2 << 30))
        let path = try work.write("huge", bytes)
        #expect(truncate(path, (4 << 30) + 4096) == 0)

        let image = try ELFImage(path: path)
        #expect(image.warnings.count == 1)
        #expect(image.symbol(virtualAddress: try #require(oracle.functions.first { $0.name == "crash_here" }).value) == nil)
        #expect(image.buildID != nil)
    }

    @Test func mutatedFilesNeverCrashTheReader() throws {
        let work = try ELFWork()
        defer { work.remove() }
        let program = try work.build("pie", ["-O0", "-fPIE", "-pie", "-rdynamic"])
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: program)))
        let headerEnd = Int(bytes.u64le(32)) + 13 * 56
        let sections = Int(bytes.u64le(40))
        var random = SplitMix(seed: 42)
        let interesting: [UInt64] = [0, 1, 0x7f, 0xff, 0xffff, 0xffff_ffff, UInt64(bytes.count), UInt64.max, UInt64.max / 24]
        var loaded = 0
        for _ in 0..<400 {
            var file = bytes
            for _ in 0..<(1 + random.below(6)) {
                // Mostly the headers, where the counts and offsets are; sometimes anywhere.
                let position = switch random.below(3) {
                case 0: random.below(headerEnd)
                case 1: sections + random.below(bytes.count - sections)
                default: random.below(bytes.count)
                }
                if random.below(2) == 0 {
                    file[position] = random.byte()
                } else {
                    let value = le(interesting[random.below(interesting.count)])
                    for (i, byte) in value.enumerated() where position + i < file.count { file[position + i] = byte }
                }
            }
            if random.below(10) == 0 { file = Array(file.prefix(random.below(file.count))) }
            guard let image = try? ELFImage(path: work.write("mutant", file)) else { continue }
            loaded += 1
            for _ in 0..<20 {
                _ = image.symbol(fileOffset: UInt64(random.below(file.count + 100)))
                _ = image.symbol(virtualAddress: UInt64(random.below(0x10000)))
            }
            _ = image.symbol(virtualAddress: .max)
            _ = image.buildID
        }
        #expect(loaded > 0, "some mutants are still ELF files")
    }
}

// MARK: - Support

/// A temporary directory for one test's programs, removed at the end of the test.
private struct ELFWork {
    let path: String

    static let source = """
        #include <stdio.h>
        const char banner[] = "sonde elf test";
        __attribute__((noinline)) void crash_here(int depth) {
            volatile int *p = 0;
            if (depth > 100) *p = 1;
            printf("%s %d\\n", banner, depth);
        }
        static __attribute__((noinline)) int helper_static(int x) { return x * 3 + 1; }
        void asm_nosize(void);
        int main(int argc, char **argv) { (void)argv; asm_nosize(); crash_here(argc); return helper_static(argc); }
        int exported_entry(int x) { return helper_static(x); }
        """
    /// A function without .size, as hand-written assembly often is.
    static let assembly = """
            .text
            .globl asm_nosize
            .type asm_nosize, @function
        asm_nosize:
            nop
            nop
            nop
            ret
            .section .note.GNU-stack,"",@progbits
        """

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/sonde-elf-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SondeError.system("mkdtemp", .current) }
        path = String(cString: made)
        try ELFWork.source.write(toFile: path + "/program.c", atomically: false, encoding: .utf8)
        try ELFWork.assembly.write(toFile: path + "/bare.s", atomically: false, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Compiles the test program with `flags`; returns the output's path.
    func build(_ name: String, _ flags: [String]) throws -> String {
        let output = path + "/" + name
        try run("gcc", flags + [path + "/program.c", path + "/bare.s", "-o", output])
        return output
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Runs a tool found in PATH; its standard output, or an error with its standard error.
    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> String {
        try must("/usr/bin/env", [tool] + arguments)
    }
}

/// What readelf says about a file: the oracle the reader is checked against.
private struct ReadelfOracle {
    struct Function { let table: String; let name: String; let value: UInt64; let size: UInt64 }
    struct Segment { let offset: UInt64; let address: UInt64; let fileSize: UInt64; let executable: Bool }
    struct Section { let index: Int; let name: String; let offset: UInt64; let size: UInt64 }

    var functions: [Function] = []
    var objects: [String: UInt64] = [:]
    var segments: [Segment] = []
    var sections: [Section] = []
    var sectionHeaderOffset: UInt64 = 0

    init(_ path: String) throws {
        let work = ELFWork(existing: (path as NSString).deletingLastPathComponent)
        var table = ""
        for line in try work.run("readelf", ["-W", "--syms", path]).split(separator: "\n") {
            if line.hasPrefix("Symbol table '") { table = String(line.split(separator: "'")[1]); continue }
            // "   27: 0000000000001139    73 FUNC    GLOBAL DEFAULT   15 crash_here"
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[0].hasSuffix(":"), fields[6] != "UND",
                  let value = UInt64(fields[1], radix: 16), let size = readelfNumber(fields[2]) else { continue }
            let name = String(fields[7].split(separator: "@")[0])
            switch fields[3] {
            case "FUNC", "IFUNC": functions.append(Function(table: table, name: name, value: value, size: size))
            case "OBJECT": objects[name] = value
            default: break
            }
        }
        for line in try work.run("readelf", ["-W", "--segments", path]).split(separator: "\n") {
            // "  LOAD 0x001000 0x0000000000401000 0x0000000000401000 0x077c31 0x077c31 R E 0x1000"
            let fields = line.split(separator: " ")
            guard fields.count >= 7, fields[0] == "LOAD", let offset = readelfNumber(fields[1]),
                  let address = readelfNumber(fields[2]), let fileSize = readelfNumber(fields[4]) else { continue }
            segments.append(Segment(offset: offset, address: address, fileSize: fileSize, executable: fields[6...].contains { $0.contains("E") && !$0.hasPrefix("0x") }))
        }
        for line in try work.run("readelf", ["-W", "--sections", path]).split(separator: "\n") {
            // "  [ 7] .text  PROGBITS  0000000000401100 001100 0770ef 00  AX  0   0 64"
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]"),
                  let index = Int(line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)) else { continue }
            let fields = line[line.index(after: close)...].split(separator: " ")
            guard fields.count >= 5, let offset = UInt64(fields[3], radix: 16), let size = UInt64(fields[4], radix: 16) else { continue }
            sections.append(Section(index: index, name: String(fields[0]), offset: offset, size: size))
        }
        for line in try work.run("readelf", ["-W", "--file-header", path]).split(separator: "\n")
        where line.contains("Start of section headers:") {
            sectionHeaderOffset = UInt64(line.split(separator: ":")[1].split(separator: " ")[0]) ?? 0
        }
    }

    /// Where the byte at link-time `address` is in the file, through the PT_LOAD holding it.
    func fileOffset(of address: UInt64) -> UInt64? {
        let holding = segments.filter { address >= $0.address && address - $0.address < $0.fileSize }
        guard let segment = holding.first(where: \.executable) ?? holding.first else { return nil }
        return address - segment.address + segment.offset
    }
}

extension ELFWork {
    /// The directory of a file another ELFWork made (to run tools there); not removed.
    init(existing path: String) { self.path = path }
}

private func readelfNumber(_ text: Substring) -> UInt64? {
    text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
}

private func fileSize(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

private func le(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }

/// `bytes` with `patch` written at `offset` (what fits of it).
private func patched(_ bytes: [UInt8], _ offset: Int, _ patch: [UInt8]) -> [UInt8] {
    var bytes = bytes
    for (i, byte) in patch.enumerated() where offset + i < bytes.count { bytes[offset + i] = byte }
    return bytes
}

extension [UInt8] {
    fileprivate func u64le(_ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[offset + $1]) << ($1 * 8) }
    }
}

/// A small seeded generator, so that the "random" inputs are the same on every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }
}
