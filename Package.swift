// swift-tools-version: 6.0
// sonde: container-aware syscall tracing, flight recording and supervision on Linux.
// Dependencies run one way: C modules -> LinuxKit/BPFKit -> domain modules -> executables.
import PackageDescription

let package = Package(
    name: "sonde",
    products: [
        .executable(name: "sonde", targets: ["sonde"]),
        .executable(name: "sonde-hook", targets: ["sonde-hook"]),
        .executable(name: "kubectl-sonde", targets: ["kubectl-sonde"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The node daemon's API (gRPC over a unix socket); generated code is committed (scripts/gen-proto.sh).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"), // audit rule files (Sources/Audit)
        // NIO directly: the daemon's Prometheus endpoint (NIOHTTP1) and cluster mode's Kubernetes API
        // client (HTTPS); both already come with grpc-swift-nio-transport.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"), .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // X.509 (already a dependency of grpc-swift-nio-transport): the daemon reads its TCP clients'
        // certificate subjects to authorise them.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        // The daemon's metrics registry (Prometheus text format).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C: libbpf as a system library.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),

        // Plumbing: typed errors, fds, mounts, cgroups; the Swift layer over libbpf.
        .target(name: "LinuxKit"),
        .target(name: "BPFKit", dependencies: ["CLibbpf", "LinuxKit", "BPFObjects"]),
        // C shims for the seccomp supervisor (ioctl constants, pidfd, openat2, SCM_RIGHTS) and libseccomp.
        .target(name: "CSonde", linkerSettings: [.linkedLibrary("seccomp")]),

        // The BPF programs in bpf/, compiled by clang during `swift build` and embedded as bytes.
        .plugin(name: "BPFCompiler", capability: .buildTool()),
        .target(name: "BPFObjects", plugins: ["BPFCompiler"]),
        // bpf/dev/: the benchmarks' floors and the tests' programs, kept out of every product.
        .target(name: "DevBPFObjects", dependencies: ["BPFObjects"], plugins: ["BPFCompiler"]),

        // Domain: containers, the one event shape and its renderers, gadgets.
        .target(name: "Containers", dependencies: ["LinuxKit"]),
        .target(name: "Syscalls", dependencies: ["LinuxKit"]),
        .target(name: "Events", dependencies: ["Containers", "LinuxKit"]),
        // What each gadget is called, shows and has as fields, without its BPF: clients such as
        // kubectl-sonde list gadgets and columns without linking libbpf.
        .target(name: "GadgetCatalog", dependencies: ["Events"]),
        .target(name: "Gadgets", dependencies: ["BPFKit", "BPFObjects", "Containers", "Events", "GadgetCatalog", "LinuxKit", "Syscalls"]),
        // Audit rules: a YAML rule language over gadget and supervisor events, alerts as JSON lines.
        .target(name: "Audit", dependencies: ["Events", "GadgetCatalog", "Gadgets", "Containers", "LinuxKit", .product(name: "Yams", package: "Yams")]),
        .target(name: "Recorder", dependencies: ["BPFKit", "BPFObjects", "CSonde", "Containers", "Events", "LinuxKit", "Syscalls"]),
        // `sonde report`: recordings and captures (JSON lines) into one self-contained HTML page.
        .target(name: "Report", dependencies: ["LinuxKit"]),

        // The syscall supervisor: seccomp agent protocol, policy, emulation in the caller's place.
        .target(name: "Supervisor", dependencies: ["CSonde", "Containers", "Events", "GadgetCatalog", "LinuxKit"]),
        // Single-threaded helper (one per container) that joins a container's namespaces to mount for it.
        .executableTarget(name: "sonde-supervise-helper", dependencies: ["CSonde", "LinuxKit", "Supervisor"], path: "Sources/sonde-supervise-helper"),
        // Latency and throughput of the supervisor with real runc containers (bench/RESULTS-supervisor.md).
        .executableTarget(name: "sonde-supervise-bench", path: "Sources/sonde-supervise-bench"),
        // The node daemon: its API (generated from proto/sonde.proto, committed; plus the client and
        // the conversions both sides share), the daemon itself, and the OCI hook that calls it.
        .target(name: "DaemonAPI", dependencies: [
            "Containers", "Events", "LinuxKit",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["sonde.proto.sha256"]),
        .target(name: "Daemon", dependencies: [
            "BPFKit", "DaemonAPI", "GadgetCatalog", "Gadgets", "Containers", "Events", "LinuxKit", "Recorder", "Syscalls", "Supervisor",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "X509", package: "swift-certificates"),
        ]),
        .executableTarget(name: "sonde-hook", dependencies: ["DaemonAPI", "LinuxKit"], path: "Sources/sonde-hook"),
        // Cluster mode: pods from the Kubernetes API, fan-out to each node's daemon, merged streams;
        // `kubectl-sonde` (a kubectl plugin) is its thin CLI.
        .target(name: "Cluster", dependencies: [
            "DaemonAPI", "Events", "Containers", "GadgetCatalog", "LinuxKit",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // Command-line option groups shared by the sonde and kubectl-sonde executables.
        .target(name: "CommandOptions", dependencies: ["DaemonAPI", "LinuxKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "kubectl-sonde", dependencies: ["Cluster", "CommandOptions", "DaemonAPI", "Events", "LinuxKit",
                                                                .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/kubectl-sonde"),

        .executableTarget(name: "sonde-bench", dependencies: ["BPFKit", "BPFObjects", "CLibbpf", "DevBPFObjects", "Gadgets", "Containers", "LinuxKit", "Recorder", "Syscalls"], path: "Sources/sonde-bench"),
        // The CLI: parses, calls a library, renders.
        .executableTarget(name: "sonde", dependencies: [
            "GadgetCatalog", "Gadgets", "Containers", "Events", "LinuxKit", "Recorder", "Syscalls", "Supervisor", "sonde-supervise-helper",
            "CommandOptions", "Daemon", "DaemonAPI", "Report", "Audit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // What the test targets share (running commands, locks, polling, the package's paths).
        .target(name: "TestSupport", dependencies: ["LinuxKit"], path: "Tests/TestSupport"),
        .testTarget(name: "LinuxKitTests", dependencies: ["LinuxKit", "TestSupport"]),
        .testTarget(name: "SyscallsTests", dependencies: ["Syscalls", "LinuxKit", "TestSupport"]),
        .testTarget(name: "EventsTests", dependencies: ["Events", "Containers"]),
        .testTarget(name: "BPFKitTests", dependencies: ["BPFKit", "BPFObjects", "DevBPFObjects", "LinuxKit"]),
        .testTarget(name: "GadgetsTests", dependencies: ["GadgetCatalog", "Gadgets", "BPFKit", "BPFObjects"]),
        .testTarget(name: "RecorderTests", dependencies: ["Recorder", "BPFKit", "BPFObjects", "Containers", "LinuxKit", "Syscalls"]),
        // Real BPF, real runc containers and the sonde executable; run as root.
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "GadgetCatalog", "Gadgets", "Containers", "CSonde", "Daemon", "Events", "LinuxKit", "Recorder", "Supervisor", "Syscalls",
                                                              "BPFKit", "BPFObjects", "sonde", "sonde-hook", "DaemonAPI",
                                                              .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                              .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                                                              .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport")],
                    exclude: ["Oracle"]), // oracle.c is compiled by the test itself
        .testTarget(name: "AuditTests", dependencies: ["Audit", "Events", "Gadgets", "Containers", "LinuxKit"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "CSonde", "LinuxKit"]),
        .testTarget(name: "DaemonTests", dependencies: ["BPFKit", "Daemon", "DaemonAPI", "Containers", "Events", "LinuxKit", "Gadgets",
                                                        .product(name: "GRPCCore", package: "grpc-swift-2")]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "LinuxKit"], resources: [.copy("Fixtures")]),
        // Cluster mode: the Kubernetes API client against recorded responses, selectors, manifests;
        // the fan-out to real daemons in network namespaces ("nodes") with real runc containers.
        .testTarget(name: "ClusterTests", dependencies: ["TestSupport", "Cluster", "Containers", "DaemonAPI", "Events", "LinuxKit", "kubectl-sonde", "sonde",
                                                         .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                                         .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "ContainersTests", dependencies: ["Containers", "LinuxKit"], resources: [.copy("Fixtures")]),
    ]
)
