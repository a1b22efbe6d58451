import Testing
@testable import Gadgets

@Suite struct SnapshotTests {
    @Test func readsProcNetTablesOfBothFamilies() {
        let tcp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 396095 1 0000000000000000 100 0 0 10 0
               1: 0100007F:E492 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 396416 1 0000000000000000 20 4 30 10 -1
            """
        let entries = SocketSnapshot.parse(tcp, file: "tcp")
        #expect(entries.count == 2)
        #expect(entries[0] == SocketSnapshot.Entry(protocolName: "TCP", ipv6: false, localAddress: "127.0.0.1", localPort: 8080,
                                                   remoteAddress: "0.0.0.0", remotePort: 0, state: "LISTEN", inode: 396095))
        #expect(entries[1].state == "ESTABLISHED" && entries[1].localPort == 58514 && entries[1].remotePort == 8080)

        let tcp6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:E492 01 00000000:00000000 00:00000000 00000000     0        0 396095 1 0000000000000000 20 4 31 10 -1
               1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12 1 0000000000000000 100 0 0 10 0
            """
        let six = SocketSnapshot.parse(tcp6, file: "tcp6")
        #expect(six.map(\.localAddress) == ["::ffff:127.0.0.1", "::1"])
        #expect(six[0].ipv6 && six[0].remotePort == 58514)
        #expect(SocketSnapshot.endpoint(six[1].localAddress, six[1].localPort, ipv6: true) == "[::1]:80")

        let udp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
             127: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5501 2 0000000000000000 0
             128: 0100007F:14EA 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 5502 2 0000000000000000 0
            garbage line
            """
        let udpEntries = SocketSnapshot.parse(udp, file: "udp")
        #expect(udpEntries.map(\.state) == ["UNCONNECTED", "CONNECTED"])
        #expect(udpEntries.map(\.protocolName) == ["UDP", "UDP"])
        #expect(udpEntries[0].localPort == 5353)
    }

    @Test func statLinesWithHostileCommNames() throws {
        let parsed = try #require(ProcessSnapshot.parseStat("42 (a (b) c) S 7 42 42 0 -1"))
        #expect(parsed.comm == "a (b) c")
        #expect(parsed.state == "S")
        #expect(parsed.ppid == 7)
        #expect(ProcessSnapshot.parseStat("garbage") == nil)
    }
}
