import Containers
import Foundation
import Testing
@testable import Events

func sampleEvent(args: [String] = ["ls", "-l"], ret: Int64 = 0, comm: String = "sh", container: Container? = nil) -> Event {
    Event(timestamp: 1_700_000_000_123_456_789, source: "exec",
          process: ProcessRef(pid: 42, tid: 43, ppid: 1, uid: 0, gid: 0, comm: comm),
          cgroupID: 7, mountNamespaceID: 9, container: container,
          fields: [("ret", .result(ret)), ("args", .strings(args, truncated: false))])
}

@Suite struct JSONRendererTests {
    @Test func oneParsableObjectPerEvent() throws {
        let c = Container(runtime: .containerd, id: "abc", name: "web", cgroupPath: "/k8s.io/abc", cgroupID: 7,
                          pod: Pod(name: "web-1", namespace: "prod", labels: ["app": "web"]))
        let line = JSONRenderer().render(sampleEvent(ret: -2, container: c))
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["pid"] as? Int == 42)
        #expect(object["ret"] as? Int == -2)
        #expect(object["error"] as? String == "ENOENT")
        #expect(object["args"] as? [String] == ["ls", "-l"])
        #expect(object["args_truncated"] as? Bool == false)
        #expect(object["time"] as? String == "2023-11-14T22:13:20.123456789Z")
        let container = try #require(object["container"] as? [String: Any])
        #expect(container["name"] as? String == "web")
        #expect(container["pod"] as? String == "web-1")
        #expect((container["pod_labels"] as? [String: String])?["app"] == "web")
    }

    @Test func hostileStringsStayInsideTheirQuotes() throws {
        let hostile = "a\"b\\c\nd\u{1b}[2J\u{7f}é"
        let line = JSONRenderer().render(sampleEvent(args: [hostile], comm: hostile))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["comm"] as? String == hostile)
        #expect(object["args"] as? [String] == [hostile])
        #expect(!line.contains("\u{1b}"))
    }
}

@Suite struct TableRendererTests {
    @Test func columnsAlignAndTheLastTakesTheRest() {
        let table = TableRenderer(columns: [.pid, .comm, .field("RET", "ret", width: 7, alignment: .right),
                                            .field("ARGS", "args", width: 0)])
        #expect(table.header() == "    PID COMM                 RET ARGS")
        #expect(table.render(sampleEvent(ret: -13)) == "     42 sh                EACCES ls -l")
    }

    @Test func controlCharactersFromAContainerAreMadeVisible() {
        let table = TableRenderer(columns: [.comm, .field("ARGS", "args", width: 0)])
        let line = table.render(sampleEvent(args: ["rm", "x\ny\u{1b}"], comm: "a\tb"))
        #expect(line == "a\\tb             rm x\\ny\\x1b")
    }

    @Test func truncatedArgvIsMarked() {
        var event = sampleEvent()
        event.fields = [("args", .strings(["a", "b"], truncated: true))]
        #expect(FieldText.text(event.field("args")!) == "a b ...")
    }

    @Test func listingsAlignToTheWidestCell() {
        #expect(TextTable.align([["A", "BB", "C"], ["long", "x", "y"]]) == ["A     BB  C", "long  x   y"])
    }
}

@Suite struct TimeTextTests {
    @Test func rfc3339KeepsNanoseconds() {
        #expect(TimeText.rfc3339(5) == "1970-01-01T00:00:00.000000005Z")
    }
}
