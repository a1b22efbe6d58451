import Foundation
import Testing
import TestSupport

/// `sonde report` end to end: a real runc container recorded by `sonde record` and followed by
/// `sonde trace startup`, its dump and start-up capture turned into a page, the page rendered by
/// headless Chromium and the PNG checked for content.
@Suite(.serialized) struct ReportIntegrationTests {
    /// A background process whose output goes to files; ended by pid.
    @Test func aRecordedContainerBecomesAPageChromiumRenders() async throws {
        try requireRoot()
        let id = UInt32.random(in: 0...UInt32.max)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonde-it-report-\(id)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let location = ["--pin-directory", "/sys/fs/bpf/sonde-it-report-\(id)", "--state-directory", work.appendingPathComponent("state").path]
        defer { _ = try? run(sondeExecutable, ["record", "stop"] + location, timeout: 30) }

        let recorder = try BackgroundCommand(sondeExecutable, ["record", "start", "--runtime", "runc", "--timeout", "60"] + location)
        let startup = try BackgroundCommand(sondeExecutable, ["trace", "startup", "--runtime", "runc", "-o", "json", "--timeout", "90"])
        defer {
            if recorder.process.isRunning { kill(recorder.process.processIdentifier, SIGKILL) }
            if startup.process.isRunning { kill(startup.process.processIdentifier, SIGKILL) }
        }
        let ready = try await eventually(timeout: .seconds(60)) {
            recorder.stderr.contains("flight recorder started") && startup.stderr.contains("following new containers")
        }
        #expect(ready, "record: \(recorder.stderr)\nstartup: \(startup.stderr)")

        // A server that answers one connection, then a little work with a failure in it.
        let port = Int.random(in: 20_000...40_000)
        let server = try RuncContainer(prefix: "sonde-it-report", args: [
            "sh", "-c", "nc -l -p \(port) > /tmp/got; cat /tmp/got; cat /nonexistent; ls / > /dev/null; usleep 300000",
        ], hostNetwork: true)
        defer { server.remove() }
        try server.start()
        // The recorder finds new containers on its next round: wait until it records this one, or a
        // container that lives less than a round (it ends 300 ms after the connection) goes unseen.
        let followed = try await eventually(timeout: .seconds(30)) {
            ((try? run(sondeExecutable, ["record", "list"] + location, timeout: 10))?.stdout.contains(server.name)) ?? false
        }
        #expect(followed, "the recorder did not take \(server.name): \(recorder.stderr)")
        let connected = try await eventually(timeout: .seconds(30)) {
            ((try? run("/bin/sh", ["-c", "echo hello | /bin/busybox nc 127.0.0.1 \(port)"], timeout: 10))?.status ?? 1) == 0
        }
        #expect(connected, "could not connect to the container's nc")
        // The container ends by itself; its recording stays for the dump.
        _ = try await eventually(timeout: .seconds(20)) {
            ((try? run("/usr/sbin/runc", ["state", server.name]))?.stdout.contains("\"stopped\"") ?? false)
        }
        startup.interrupt()
        let dump = try run(sondeExecutable, ["record", "dump", "-c", server.name, "-o", "json"] + location, timeout: 60)
        #expect(dump.status == 0, "\(dump.stderr)")
        recorder.interrupt()
        let recording = work.appendingPathComponent("recording.json"), capture = work.appendingPathComponent("startup.json")
        try dump.stdout.write(to: recording, atomically: true, encoding: .utf8)
        try startup.stdout.write(to: capture, atomically: true, encoding: .utf8)
        #expect(startup.stdout.contains("\"step\":\"accept\""), "startup capture: \(startup.stdout)\n\(startup.stderr)")

        let page = work.appendingPathComponent("report.html")
        let made = try run(sondeExecutable, ["report", recording.path, "--startup", capture.path, "--html", page.path, "--title", "report \(server.name)"])
        #expect(made.status == 0, "\(made.stderr)")
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.contains("<h1>report \(server.name)</h1>"))
        #expect(html.contains("<h3>\(server.name)</h3>"))
        for step in ["runtime", "cgroup", "entrypoint", "listen", "accept"] { #expect(html.contains("<tr><td>\(step)</td>")) }
        #expect(html.contains("<td><code>openat</code></td><td>ENOENT</td>") || html.contains("<td><code>execve</code></td><td>ENOENT</td>"))
        let recordedCalls = dump.stdout.split(separator: "\n").filter { $0.contains("\"syscall\":") }.count
        #expect(recordedCalls > 100)
        #expect(html.contains("<li>\(recordedCalls) recorded syscalls, 0 gadget events, 5 start-up milestones</li>"))
        // nc's accept, as the recorder saw it, is drawn in nc's row of the timeline: alone with its
        // strace text when it lasted a pixel or more, else in the tooltip of its pixel's bin.
        #expect(dump.stdout.contains("\"syscall\":\"accept\""))
        #expect(html.contains("accept(3, NULL, NULL)") || html.contains("accept x1"))

        // Headless Chromium, with its own HOME; bounded, killed by pid if it hangs.
        let png = work.appendingPathComponent("report.png")
        let chromium = try BackgroundCommand("/usr/bin/chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--screenshot=\(png.path)",
            "--window-size=1280,1400", "file://\(page.path)",
        ], environment: ["HOME": work.path, "PATH": "/usr/bin:/bin"])
        let finished = try await eventually(timeout: .seconds(120)) { !chromium.process.isRunning }
        if !finished { kill(chromium.process.processIdentifier, SIGKILL) }
        chromium.process.waitUntilExit()
        #expect(finished, "chromium did not finish: \(chromium.stderr)")
        let stats = try run("/usr/bin/python3", [packageRoot.appendingPathComponent("scripts/png-stats.py").path, png.path], timeout: 120)
        #expect(stats.status == 0, "\(stats.stderr)")
        let numbers = stats.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(numbers.count == 4, "png-stats said: \(stats.stdout)")
        let (width, height, colours, nonWhite) = (numbers[0], numbers[1], numbers[2], numbers[3])
        print("report render: \(width)x\(height), \(colours) colours, \(nonWhite) non-white pixels")
        #expect(width == 1280 && height == 1400)
        // Text, tables and the coloured SVG: far from a blank or single-colour page.
        #expect(colours >= 50)
        #expect(nonWhite > width * height / 50)
    }
}
