import CSonde
import Foundation
import LinuxKit

/// The OCI runtime-spec seccomp section for a supervised container: the policy's syscalls go to the
/// agent (SCMP_ACT_NOTIFY), merged into a profile that denies by default.
///
/// Without a base profile, sonde's own: every syscall libseccomp knows for x86_64 is allowed except
/// the ones a container runtime's default profile refuses to an unprivileged container (kernel
/// modules, keyrings, bpf, perf, userfaultfd, io_uring, clock and reboot, setns, namespace
/// creation...), and anything unknown gets EPERM. With `--base FILE` (a config.json or its
/// seccomp section), that profile, which must not allow by default.
///
/// In both, whatever could do what the agent supervises without asking it is closed:
/// - the new mount API (fsopen, fsconfig, fsmount, fspick, move_mount, open_tree, mount_setattr)
///   fails with ENOSYS, so libmount and others fall back to mount(2), which the agent sees;
/// - clone3 fails with ENOSYS (its flags are in memory, out of a filter's reach; libc falls back to
///   clone), clone and unshare are allowed only without namespace flags;
/// - seccomp() is allowed only without SECCOMP_FILTER_FLAG_NEW_LISTENER: a process of the container
///   must not install a listener of its own under (and in front of) the agent's.
public enum SeccompProfile {
    /// Syscalls sonde's default profile refuses (EPERM).
    public static let refused: [String] = [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
        "finit_module", "get_kernel_syms", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
        "keyctl", "lookup_dcookie", "nfsservctl", "open_by_handle_at", "name_to_handle_at", "perf_event_open",
        "pivot_root", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "setns", "settimeofday",
        "swapon", "swapoff", "sysfs", "_sysctl", "syslog", "umount2", "uselib", "userfaultfd", "ustat", "vm86",
        "vm86old", "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    ]
    /// Answered ENOSYS so that callers fall back to a call the filter can see whole.
    public static let fallBack = ["fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "clone3"]
    /// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (and CLONE_NEWTIME).
    static let namespaceFlags: UInt64 = 0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x80
    static let newListener: UInt64 = 1 << 3 // SECCOMP_FILTER_FLAG_NEW_LISTENER
    static let eperm = 1, enosys = 38

    /// The `linux.seccomp` section as a JSON object.
    public static func section(policy: Policy, socket: String, metadata: String?, base: [String: JSONValue]? = nil) throws(SondeError) -> [String: JSONValue] {
        var notified = policy.interceptedSyscalls
        if notified.isEmpty { notified = ["mknod", "mknodat"] }
        // Everything sonde decides about is taken out of the base's rules and decided here.
        let decided = Set(notified + fallBack + ["seccomp", "clone", "unshare", "mount", "setxattr", "lsetxattr", "fsetxattr", "mknod", "mknodat"])
        var section: [String: JSONValue]
        var rules: [JSONValue]
        if let base {
            let action = base["defaultAction"]?.string ?? ""
            guard action.hasPrefix("SCMP_ACT_ERRNO") || action.hasPrefix("SCMP_ACT_KILL") || action == "SCMP_ACT_TRAP" else {
                throw SondeError(.invalidArgument, "base profile: defaultAction \(action.isEmpty ? "(missing)" : action) allows what no rule names",
                                 hint: "give a profile that denies by default (SCMP_ACT_ERRNO), like the runtime's default one")
            }
            section = base
            rules = (base["syscalls"]?.array ?? []).compactMap { rule in
                guard var rule = rule.object else { return nil }
                let names = (rule["names"]?.strings ?? []).filter { !decided.contains($0) }
                if names.isEmpty { return nil }
                rule["names"] = JSONValue(names)
                return .object(rule)
            }
        } else {
            let refusedSet = Set(refused)
            section = ["defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": JSONValue(eperm), "architectures": ["SCMP_ARCH_X86_64"]]
            rules = [["names": JSONValue(knownSyscalls().filter { !refusedSet.contains($0) && !decided.contains($0) }), "action": "SCMP_ACT_ALLOW"]]
        }
        rules.append(["names": JSONValue(notified), "action": "SCMP_ACT_NOTIFY"])
        rules.append(["names": JSONValue(fallBack), "action": "SCMP_ACT_ERRNO", "errnoRet": JSONValue(enosys)])
        rules.append(["names": ["clone", "unshare"], "action": "SCMP_ACT_ALLOW",
                      "args": [["index": 0, "value": JSONValue(namespaceFlags), "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"]]])
        rules.append(["names": ["seccomp"], "action": "SCMP_ACT_ALLOW",
                      "args": [["index": 1, "value": JSONValue(newListener), "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"]]])
        section["syscalls"] = .array(rules)
        section["listenerPath"] = .string(socket)
        if let metadata { section["listenerMetadata"] = .string(metadata) }
        return section
    }

    /// The section as the JSON document `sonde supervise profile` prints (`{"linux": {"seccomp": ...}}`).
    public static func ociSection(policy: Policy, socket: String, metadata: String?, base: [String: JSONValue]? = nil) throws(SondeError) -> String {
        let seccomp = try section(policy: policy, socket: socket, metadata: metadata, base: base)
        let document: JSONValue = ["linux": ["seccomp": .object(seccomp)]]
        return String(decoding: document.data(pretty: true), as: UTF8.self)
    }

    /// Reads a base profile: a config.json (its linux.seccomp) or a bare seccomp section.
    public static func loadBase(path: String) throws(SondeError) -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SondeError(.notFound, "cannot read base profile \(path)")
        }
        guard let object = (try? JSONValue.parse(data))?.object else {
            throw SondeError(.malformedInput, "base profile \(path) is not a JSON object")
        }
        if let linux = object["linux"]?.object {
            guard let seccomp = linux["seccomp"]?.object else {
                throw SondeError(.invalidArgument, "base profile \(path): linux.seccomp is missing")
            }
            return seccomp
        }
        guard object["defaultAction"] != nil else {
            throw SondeError(.invalidArgument, "base profile \(path): neither a config.json nor a seccomp section (no defaultAction)")
        }
        return object
    }

    /// Every x86_64 syscall name the installed libseccomp knows (the runtime resolves names with it too).
    static func knownSyscalls() -> [String] {
        (0..<512).compactMap { number -> String? in
            guard let name = seccomp_syscall_resolve_num_arch(SupervisedSyscall.architecture, Int32(number)) else { return nil }
            defer { free(name) }
            return String(cString: name)
        }
    }
}
