// Compiles every bpf/*.bpf.c of the package with clang -target bpf during `swift build` and hands the
// target a generated Swift file per program holding the object's bytes (opened later with
// bpf_object__open_mem), so the binary carries its BPF and no object file is committed. The target
// BPFObjects gets bpf/*.bpf.c, the programs sonde ships; DevBPFObjects gets bpf/dev/*.bpf.c, the
// floors of the benchmarks and the tests' own programs, which no product links.
//
// Why a shell script does the work: a build command is one process, and each program needs three
// steps (clang, strip DWARF but keep BTF, base64 into Swift). The kernel's types come from the
// committed bpf/include/vmlinux/x86_64/vmlinux.h (as libbpf-tools does it), so building needs
// neither BTF nor bpftool on the build host; CO-RE relocates field offsets at load time on each
// kernel. scripts/gen-vmlinux.sh regenerates the header from a kernel's BTF.
import Foundation
import PackagePlugin

@main
struct BPFCompiler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let packageDir = context.package.directoryURL
        let bpfDir = packageDir.appending(path: "bpf")
        let script = bpfDir.appending(path: "build-object.sh")
        let shipped = target.name == "BPFObjects"
        let sourceDir = shipped ? bpfDir : bpfDir.appending(path: "dev")
        let includeDir = bpfDir.appending(path: "include")
        let work = context.pluginWorkDirectoryURL
        // sonde's syscall tables are x86_64's: so are the kernel types its programs are built against.
        let vmlinuxDir = includeDir.appending(path: "vmlinux/x86_64")
        let vmlinux = vmlinuxDir.appending(path: "vmlinux.h")
        let clang = try context.tool(named: "clang").url

        let fm = FileManager.default
        let sources = try fm.contentsOfDirectory(atPath: sourceDir.path)
            .filter { $0.hasSuffix(".bpf.c") }
            .sorted()
        // Every header can matter to every program: list them all as inputs so an edit rebuilds.
        var headers: [URL] = []
        for dir in [bpfDir, includeDir.appending(path: "sonde")] {
            for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasSuffix(".h") {
                headers.append(dir.appending(path: name))
            }
        }

        var commands: [Command] = []
        for source in sources {
            let name = String(source.dropLast(".bpf.c".count))
            let swiftName = name.replacingOccurrences(of: "-", with: "_")
            let output = work.appending(path: "BPF_\(swiftName).swift")
            commands.append(.buildCommand(
                displayName: "Compiling BPF program \(source)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, "object", clang.path, sourceDir.appending(path: source).path,
                            includeDir.path, vmlinuxDir.path, swiftName, output.path] + (shipped ? [] : ["BPFObjects"]),
                inputFiles: [script, sourceDir.appending(path: source), vmlinux] + headers,
                outputFiles: [output]))
        }
        return commands
    }
}
