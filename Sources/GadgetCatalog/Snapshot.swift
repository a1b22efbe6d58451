import Events

extension GadgetDescription {
    public static let processSnapshot = GadgetDescription(
        kind: .snapshot, name: "process", eventStream: false,
        abstract: "The processes of containers, from /proc.",
        catalog: FieldCatalog(own: [
            .gadget("state", .string, "scheduler state (R running, S sleeping, D disk wait, Z zombie, ...)", width: 5),
            .gadget("threads", .uint, "number of threads", width: 7),
            .gadget("cmdline", .strings, "the command line (argv as the process sees it now)", width: 0),
        ], defaultFields: ["container", "pid", "ppid", "uid", "comm", "cmdline"]))

    public static let socketSnapshot = GadgetDescription(
        kind: .snapshot, name: "socket", eventStream: false,
        abstract: "The TCP and UDP sockets of containers, with their owning process.",
        catalog: FieldCatalog(own: [
            .gadget("protocol", .string, "TCP or UDP", header: "PROTO", width: 5),
            .gadget("family", .string, "ipv4 or ipv6", width: 6),
            .gadget("local", .string, "local address:port", width: 26),
            .gadget("remote", .string, "remote address:port", width: 26),
            .gadget("state", .string, "TCP state (ESTABLISHED, LISTEN, ...); UDP: CONNECTED or UNCONNECTED", width: 11),
            .gadget("local_port", .uint, "local port", header: "LPORT", width: 5),
            .gadget("remote_port", .uint, "remote port", header: "RPORT", width: 5),
            .gadget("inode", .uint, "the socket's inode (socket:[INODE] in /proc/PID/fd)", width: 9),
            .gadget("netns_id", .uint, "network namespace id", header: "NETNS", width: 10),
        ], defaultFields: ["container", "pid", "comm", "protocol", "local", "remote", "state", "inode"]))
}
