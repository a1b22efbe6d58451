@testable import Daemon
import Foundation
import Gadgets
import LinuxKit
import Testing

@Suite struct MetricsTests {
    @Test func theMetricsKeyTakesAnAddressAndRefusesBadOnes() throws {
        #expect(try DaemonConfig.parse(Data("{}".utf8)).metrics == nil)
        let config = try DaemonConfig.parse(Data(#"{"metrics": {"address": "127.0.0.1:9464"}}"#.utf8))
        #expect(config.metrics == DaemonConfig.MetricsListener(host: "127.0.0.1", port: 9464))
        #expect(try DaemonConfig.parse(Data(#"{"metrics": {}}"#.utf8)).metrics?.port == 9464)
        #expect(try DaemonConfig.parse(Data(#"{"metrics": {"address": "[::1]:0"}}"#.utf8)).metrics == .init(host: "::1", port: 0))
        #expect(config.metrics?.syscallLatency == false)
        #expect(try DaemonConfig.parse(Data(#"{"metrics": {"syscallLatency": true}}"#.utf8)).metrics?.syscallLatency == true)
        for bad in [#"{"metrics": {"address": "nohost"}}"#, #"{"metrics": {"address": "h:70000"}}"#, #"{"metrics": {"port": 1}}"#,
                    #"{"metrics": {"syscallLatency": 1}}"#] {
            #expect(throws: SondeError.self) { try DaemonConfig.parse(Data(bad.utf8)) }
        }
    }

    @Test func latencyHistogramsAreCumulativeAtPowersOfTwoWithEscapedLabels() {
        var stats = SyscallStats()
        stats.buckets[10] = 3 // [512, 1024) ns
        stats.buckets[11] = 2 // [1024, 2048) ns
        stats.buckets[31] = 1 // over 1.07 s
        stats.latencyNanoseconds = 2_000_000_000
        var buffer: [UInt8] = []
        SyscallLatencyFamily.emit([(labels: [("container", "a\"b\\c\nd"), ("syscall", "read")], stats: stats)], into: &buffer)
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE sonde_syscall_latency_seconds histogram"))
        let labels = #"container="a\"b\\c\nd",syscall="read""#
        #expect(lines.contains("sonde_syscall_latency_seconds_bucket{\(labels),le=\"0.000001024\"} 3"))
        #expect(lines.contains("sonde_syscall_latency_seconds_bucket{\(labels),le=\"0.000004096\"} 5"))
        #expect(lines.contains("sonde_syscall_latency_seconds_bucket{\(labels),le=\"1.073741824\"} 5"))
        #expect(lines.contains("sonde_syscall_latency_seconds_bucket{\(labels),le=\"+Inf\"} 6"))
        #expect(lines.contains("sonde_syscall_latency_seconds_sum{\(labels)} 2"))
        #expect(lines.contains("sonde_syscall_latency_seconds_count{\(labels)} 6"))
        var empty: [UInt8] = []
        SyscallLatencyFamily.emit([], into: &empty)
        #expect(empty.isEmpty)
    }
}
