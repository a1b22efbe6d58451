import Containers
import Events
import GadgetCatalog
import Foundation
import LinuxKit

/// snapshot socket: the TCP and UDP sockets of the selected containers right now. Sockets are
/// listed per network namespace (`/proc/PID/net/{tcp,tcp6,udp,udp6}` of one process in it) and
/// joined by inode with the `socket:[INODE]` links in the selected processes' `/proc/PID/fd`, which
/// gives each its owning process and so its container.
public enum SocketSnapshot {
    public static let source = "socket"

    public static var catalog: FieldCatalog { GadgetDescription.socketSnapshot.catalog }

    /// One line of /proc/net/{tcp,udp}[6].
    public struct Entry: Sendable, Equatable {
        public var protocolName: String
        public var ipv6: Bool
        public var localAddress: String
        public var localPort: UInt16
        public var remoteAddress: String
        public var remotePort: UInt16
        public var state: String
        public var inode: UInt64
    }

    /// Kernel TCP states (include/net/tcp_states.h), by number.
    static let tcpStates = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
                            "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]

    public static func take(collection: ContainerCollection, selector: ContainerSelector,
                            proc: String = "/proc") -> [Event] {
        let now = ProcessSnapshot.wallClockNanoseconds()
        struct Owner { var process: ProcessSnapshot.Process; var container: Container? }
        var selected: [Owner] = []
        var namespaces: [UInt64: (pid: Int32, container: Container?)] = [:] // netns -> one process in it
        for pid in ProcessSnapshot.processIDs(proc: proc) {
            guard let process = ProcessSnapshot.read(pid: pid, proc: proc) else { continue }
            let container = ProcessSnapshot.owner(of: process.cgroupPath, in: collection)
            if !selector.host {
                guard let container, selector.matches(container) else { continue }
            }
            guard let netns = try? Files.inode("\(proc)/\(pid)/ns/net") else { continue }
            if namespaces[netns] == nil { namespaces[netns] = (pid, container) }
            selected.append(Owner(process: process, container: container))
        }
        // The tables before the fds: a socket made in between is then in no table (it did not
        // exist yet), rather than listed without its owner.
        var tables: [(netns: UInt64, reader: (pid: Int32, container: Container?), entries: [Entry])] = []
        for (netns, reader) in namespaces.sorted(by: { $0.key < $1.key }) {
            for file in ["tcp", "tcp6", "udp", "udp6"] {
                guard let text = try? Files.readText("\(proc)/\(reader.pid)/net/\(file)") else { continue }
                tables.append((netns, reader, parse(text, file: file)))
            }
        }
        var owners: [UInt64: Owner] = [:] // socket inode -> process
        for owner in selected {
            for inode in socketInodes(pid: owner.process.pid, proc: proc) where owners[inode] == nil {
                owners[inode] = owner
            }
        }
        let hostNetns = try? Files.inode("\(proc)/1/ns/net")
        var events: [Event] = []
        for (netns, reader, entries) in tables {
                for entry in entries {
                    var process: ProcessRef
                    var container: Container?
                    var cgroupID: UInt64 = 0
                    if let owner = owners[entry.inode], entry.inode != 0 {
                        let p = owner.process
                        process = ProcessRef(pid: p.pid, tid: p.pid, ppid: p.ppid, uid: p.uid, gid: p.gid, comm: p.comm)
                        container = owner.container
                        cgroupID = (try? collection.cgroups.id(of: p.cgroupPath)) ?? 0
                    } else if netns != hostNetns, !selector.host {
                        // No selected process holds it (a TIME_WAIT socket, or one being closed):
                        // it still belongs to the container whose network namespace it is in.
                        process = ProcessRef(pid: 0, tid: 0, ppid: 0, uid: 0, gid: 0, comm: "")
                        container = reader.container
                        cgroupID = reader.container?.cgroupID ?? 0
                    } else {
                        // The host's namespace (a host-network container): only its own sockets.
                        continue
                    }
                    events.append(Event(
                        timestamp: now, source: source, process: process, cgroupID: cgroupID, mountNamespaceID: 0,
                        container: container, fields: [
                            ("protocol", .string(entry.protocolName)), ("family", .string(entry.ipv6 ? "ipv6" : "ipv4")),
                            ("local", .string(endpoint(entry.localAddress, entry.localPort, ipv6: entry.ipv6))),
                            ("remote", .string(endpoint(entry.remoteAddress, entry.remotePort, ipv6: entry.ipv6))),
                            ("state", .string(entry.state)),
                            ("local_port", .uint(UInt64(entry.localPort))), ("remote_port", .uint(UInt64(entry.remotePort))),
                            ("inode", .uint(entry.inode)), ("netns_id", .uint(netns)),
                        ]))
                }
        }
        return events.sorted { ($0.container?.name ?? "", $0.process.pid, fieldText($0, "local")) < ($1.container?.name ?? "", $1.process.pid, fieldText($1, "local")) }
    }

    static func fieldText(_ event: Event, _ name: String) -> String {
        event.field(name).map(FieldText.text) ?? ""
    }

    /// "10.0.0.1:80", "[::1]:8080".
    static func endpoint(_ address: String, _ port: UInt16, ipv6: Bool) -> String {
        ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// Inodes of the sockets a process holds open.
    static func socketInodes(pid: Int32, proc: String) -> [UInt64] {
        let dir = "\(proc)/\(pid)/fd"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + fd),
                  target.hasPrefix("socket:["), target.hasSuffix("]") else { return nil }
            return UInt64(target.dropFirst(8).dropLast())
        }
    }

    /// The entries of one /proc/net table ("tcp", "tcp6", "udp", "udp6"); malformed lines are skipped.
    public static func parse(_ text: String, file: String) -> [Entry] {
        let ipv6 = file.hasSuffix("6")
        let tcp = file.hasPrefix("tcp")
        return text.split(separator: "\n").dropFirst().compactMap { line -> Entry? in
            let columns = line.split(separator: " ")
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            guard columns.count >= 10,
                  let local = parseEndpoint(columns[1], ipv6: ipv6), let remote = parseEndpoint(columns[2], ipv6: ipv6),
                  let stateNumber = Int(columns[3], radix: 16), let inode = UInt64(columns[9]) else { return nil }
            let state: String
            if tcp {
                state = stateNumber < tcpStates.count ? tcpStates[stateNumber] : "STATE_\(stateNumber)"
            } else {
                // UDP uses TCP_ESTABLISHED for a connected socket and TCP_CLOSE otherwise.
                state = stateNumber == 1 ? "CONNECTED" : "UNCONNECTED"
            }
            return Entry(protocolName: tcp ? "TCP" : "UDP", ipv6: ipv6, localAddress: local.address, localPort: local.port,
                         remoteAddress: remote.address, remotePort: remote.port, state: state, inode: inode)
        }
    }

    /// "0100007F:1F90": the address as the kernel's 32-bit words printed in host (little-endian)
    /// byte order, then the port in hex.
    static func parseEndpoint(_ text: Substring, ipv6: Bool) -> (address: String, port: UInt16)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { return nil }
        let hex = parts[0]
        guard hex.count == (ipv6 ? 32 : 8) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<next], radix: 16) else { return nil }
            // The word was printed from memory read as a little-endian u32: its bytes in memory
            // order are the address bytes.
            bytes += [UInt8(word & 0xff), UInt8(word >> 8 & 0xff), UInt8(word >> 16 & 0xff), UInt8(word >> 24)]
            index = next
        }
        return (IPAddressText.format(bytes), port)
    }
}

/// IP addresses as people write them.
public enum IPAddressText {
    /// 4 bytes: dotted quad; 16 bytes: RFC 5952 text ("::1", "fe80::1", "::ffff:10.0.0.1").
    public static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard bytes.count == 4 || bytes.count == 16 else { return "?" }
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        guard ok else { return "?" }
        let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: text, as: UTF8.self)
    }
}
