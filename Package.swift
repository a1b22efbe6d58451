// swift-tools-version: 6.0
// sonde: container-aware syscall tracing, flight recording and supervision on Linux.
// Dependencies run one way: C modules -> LinuxKit/BPFKit -> domain modules -> executables.
import PackageDescription

let package = Package(
    name: "sonde",
    products: [
        .executable(name: "sonde", targets: ["sonde"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C: libbpf as a system library.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),

        // Plumbing: typed errors, fds, mounts, cgroups; the Swift layer over libbpf.
        .target(name: "LinuxKit"),
        .target(name: "BPFKit", dependencies: ["CLibbpf", "LinuxKit"]),
        // C shims for the seccomp supervisor (ioctl constants, pidfd, openat2, SCM_RIGHTS) and libseccomp.
        .target(name: "CSonde", linkerSettings: [.linkedLibrary("seccomp")]),

        // The BPF programs in bpf/, compiled by clang during `swift build` and embedded as bytes.
        .plugin(name: "BPFCompiler", capability: .buildTool()),
        .target(name: "BPFObjects", plugins: ["BPFCompiler"]),

        // Domain: containers, the one event shape and its renderers, gadgets.
        .target(name: "Containers", dependencies: ["LinuxKit"]),
        .target(name: "Syscalls", dependencies: ["LinuxKit"]),
        .target(name: "Events", dependencies: ["Containers", "LinuxKit"]),
        .target(name: "Gadgets", dependencies: ["BPFKit", "BPFObjects", "Containers", "Events", "LinuxKit", "Syscalls"]),
        .target(name: "Recorder", dependencies: ["BPFKit", "BPFObjects", "Containers", "Events", "LinuxKit", "Syscalls"]),

        // The syscall supervisor: seccomp agent protocol, policy, emulation in the caller's place.
        .target(name: "Supervisor", dependencies: ["CSonde", "Containers", "Events", "LinuxKit"]),
        // Single-threaded helper (one per container) that joins a container's namespaces to mount for it.
        .executableTarget(name: "sonde-supervise-helper", dependencies: ["CSonde", "Supervisor"], path: "Sources/sonde-supervise-helper"),
        // Latency and throughput of the supervisor with real runc containers (bench/RESULTS-supervisor.md).
        .executableTarget(name: "sonde-supervise-bench", path: "Sources/sonde-supervise-bench"),
        .executableTarget(name: "sonde-bench", dependencies: ["BPFKit", "BPFObjects", "Gadgets", "Containers", "LinuxKit", "Recorder", "Syscalls"], path: "Sources/sonde-bench"),
        // The CLI: parses, calls a library, renders.
        .executableTarget(name: "sonde", dependencies: [
            "Gadgets", "Containers", "Events", "LinuxKit", "Recorder", "Syscalls", "Supervisor", "sonde-supervise-helper",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "LinuxKitTests", dependencies: ["LinuxKit"]),
        .testTarget(name: "SyscallsTests", dependencies: ["Syscalls", "LinuxKit"]),
        .testTarget(name: "EventsTests", dependencies: ["Events", "Containers"]),
        .testTarget(name: "BPFKitTests", dependencies: ["BPFKit", "BPFObjects", "LinuxKit"]),
        .testTarget(name: "GadgetsTests", dependencies: ["Gadgets", "BPFKit", "BPFObjects"]),
        .testTarget(name: "RecorderTests", dependencies: ["Recorder", "BPFKit", "BPFObjects", "Containers", "LinuxKit", "Syscalls"]),
        // Real BPF, real runc containers and the sonde executable; run as root.
        .testTarget(name: "IntegrationTests", dependencies: ["Gadgets", "Containers", "Events", "LinuxKit", "Recorder", "Syscalls", "sonde"],
                    exclude: ["Oracle"]), // oracle.c is compiled by the test itself
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "CSonde", "LinuxKit"]),
        .testTarget(name: "ContainersTests", dependencies: ["Containers", "LinuxKit"], resources: [.copy("Fixtures")]),
    ]
)
