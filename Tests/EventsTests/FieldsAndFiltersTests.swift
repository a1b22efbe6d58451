import Containers
import LinuxKit
import Testing
@testable import Events

@Suite struct FieldsAndFiltersTests {
    let catalog = FieldCatalog(own: [
        .gadget("path", .string, "the path", width: 20),
        .gadget("fd", .result, "fd or error", width: 6),
        .gadget("mode", .uint, "mode", width: 5),
        .gadget("args", .strings, "argv", width: 0),
    ], defaultFields: ["container", "pid", "path"])

    func event(pid: Int32 = 42, path: String = "/etc/passwd", fd: Int64 = 3, container: Container? = nil) -> Event {
        Event(timestamp: 1_700_000_000_000_000_000, source: "open",
              process: ProcessRef(pid: pid, tid: pid, ppid: 1, uid: 1000, gid: 1000, comm: "cat"),
              cgroupID: 7, mountNamespaceID: 9, container: container,
              fields: [("path", .string(path)), ("fd", .result(fd)), ("mode", .uint(0o644)), ("args", .strings(["a", "b c"], truncated: false))])
    }

    func filter(_ text: String) throws -> EventFilter { try EventFilter(parsing: text, catalog: catalog) }

    @Test func commonFieldsComeWithEveryCatalogue() {
        for name in ["time", "container", "pod", "namespace", "runtime", "pid", "tid", "ppid", "uid", "comm"] {
            #expect(catalog[name] != nil, "\(name)")
        }
        #expect(catalog["path"]?.type == .string)
    }

    @Test func fieldsChooseAndOrderColumns() throws {
        let columns = try catalog.columns(["path", "pid"])
        #expect(columns.map(\.header) == ["PATH", "PID"])
        #expect(try catalog.columns(nil).map(\.header) == ["CONTAINER", "PID", "PATH"])
        let line = TableRenderer(columns: try catalog.columns(["pid", "fd", "path"])).render(event(fd: -2))
        #expect(line == "     42 ENOENT /etc/passwd")
    }

    @Test func anUnknownFieldListsTheValidOnes() {
        #expect { try catalog.columns(["pid", "nope"]) } throws: { error in
            let e = error as! SondeError
            return e.message.contains("'nope'") && (e.hint ?? "").contains("path") && (e.hint ?? "").contains("comm")
        }
        #expect { try filter("nope=1") } throws: { ($0 as! SondeError).hint?.contains("pid") == true }
    }

    @Test func aValueOfTheWrongTypeNamesTheFieldsType() {
        #expect { try filter("pid=abc") } throws: { ($0 as! SondeError).message.contains("integer") }
        #expect { try filter("mode=-1") } throws: { ($0 as! SondeError).message.contains("unsigned integer") }
        #expect { try filter("pid~4") } throws: { ($0 as! SondeError).message.contains("integer") }
        #expect { try filter("fd=ENOTANERRNO") } throws: { ($0 as! SondeError).message.contains("syscall result") }
        #expect { try filter("path~[") } throws: { ($0 as! SondeError).message.contains("regular expression") }
        #expect { try filter("path") } throws: { ($0 as! SondeError).message.contains("FIELD=VALUE") }
    }

    @Test func numbersCompareNumerically() throws {
        #expect(try filter("pid=0042").matches(event()))
        #expect(try !filter("pid=43").matches(event()))
        #expect(try filter("pid!=43").matches(event()))
        #expect(try filter("mode=420").matches(event()))
    }

    @Test func resultsMatchByErrnoNameOrNumber() throws {
        #expect(try filter("fd=ENOENT").matches(event(fd: -2)))
        #expect(try filter("fd=-2").matches(event(fd: -2)))
        #expect(try !filter("fd=ENOENT").matches(event(fd: 2)))
        #expect(try filter("fd=3").matches(event(fd: 3)))
        #expect(try filter("fd~^E").matches(event(fd: -13)))
        #expect(try !filter("fd~^E").matches(event(fd: 3)))
    }

    @Test func textsMatchExactlyOrByRegex() throws {
        #expect(try filter("path=/etc/passwd").matches(event()))
        #expect(try !filter("path=/etc").matches(event()))
        #expect(try filter("path~^/etc/").matches(event()))
        #expect(try filter("path!~shadow").matches(event()))
        #expect(try filter("args=b c").matches(event()))
        #expect(try filter("comm=cat").matches(event()))
    }

    @Test func aMissingFieldFailsEqualityAndPassesInequality() throws {
        #expect(try !filter("container=web").matches(event()))
        #expect(try filter("container!=web").matches(event()))
        let c = Container(runtime: .runc, id: "abc", name: "web", cgroupPath: "/web", cgroupID: 7)
        #expect(try filter("container=web").matches(event(container: c)))
        #expect(try filter("runtime=runc").matches(event(container: c)))
    }

    @Test func filtersAreAnded() throws {
        let both = try EventFilters(parsing: ["pid=42", "path~passwd"], catalog: catalog)
        #expect(both.matches(event()))
        #expect(!both.matches(event(pid: 1)))
        #expect(!both.matches(event(path: "/etc/group")))
    }

    @Test func jsonLinesMatchTheRenderer() throws {
        let c = Container(runtime: .runc, id: "abc", name: "web", cgroupPath: "/web", cgroupID: 7)
        let line = JSONLine()
        line.append(event(path: "a\"b\u{1}\nc", fd: -2, container: c))
        let text = String(decoding: line.bytes, as: UTF8.self)
        #expect(text.contains(#""path":"a\"b\u0001\nc""#))
        #expect(text.contains(#""fd":-2,"fd_error":"ENOENT""#))
        #expect(text.hasPrefix(#"{"time":"2023-11-14T22:13:20.000000000Z","source":"open","container":{"runtime":"runc""#))
        // The cached container and second give the same bytes the second time.
        let first = line.bytes
        line.removeAll()
        line.append(event(path: "a\"b\u{1}\nc", fd: -2, container: c))
        #expect(line.bytes == first)
    }

    @Test func theBufferGrowsAndKeepsEveryEventIntact() throws {
        let line = JSONLine(capacity: 1)
        var expected: [UInt8] = []
        for index in 0..<200 {
            let e = event(pid: Int32(index), path: String(repeating: "p\u{7}", count: index), fd: Int64(index % 3) - 1)
            line.append(e)
            line.newline()
            expected += Array(JSONRenderer().render(e).utf8) + [0x0A]
        }
        #expect(line.bytes == expected)
        let objects = String(decoding: line.bytes, as: UTF8.self).split(separator: "\n")
        #expect(objects.count == 200)
        line.removeAll()
        #expect(line.isEmpty)
    }
}
