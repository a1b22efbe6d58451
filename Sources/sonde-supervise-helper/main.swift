// sonde-supervise-helper: performs mounts inside one container's namespaces for `sonde supervise`.
// Started by the agent (MountHelper) with its end of a SOCK_SEQPACKET socketpair as fd 3; see
// MountHelper for the protocol. It must stay single-threaded: setns(Int32(SONDE_CLONE_NEWNS)) and
// setns(Int32(SONDE_CLONE_NEWUSER)) are refused to multithreaded processes, which is why it is its own small
// executable rather than a thread of the agent. Only plain top-level code here - no Dispatch, no tasks.
#if canImport(Glibc)
import Glibc
#endif
import CSonde
import LinuxKit
import Supervisor

let channel: Int32 = 3

func reply(_ error: Int32) {
    var value = error
    _ = send(channel, &value, 4, Int32(MSG_NOSIGNAL))
}

/// The next message and its fds; nil once the agent closed the socket.
func receive() -> (bytes: [UInt8], fds: [Int32])? {
    // Up to 8 fds: the namespaces to join (7 at most), and the agent sends no more (sonde_send_with_fds).
    HelperChannel.receive(channel, capacity: 16384, maxFDs: 8).map { ($0.bytes, $0.fds) }
}

func sameNamespace(_ fd: Int32, _ path: String) -> Bool {
    var theirs = stat(), mine = stat()
    return fstat(fd, &theirs) == 0 && stat(path, &mine) == 0 && theirs.st_ino == mine.st_ino && theirs.st_dev == mine.st_dev
}

/// MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC have the same bits as their MS_ flags.
let attributeFlags: UInt64 = 0x1 | 0x2 | 0x4 | 0x8

func perform(_ request: MountHelper.Request, fds: [Int32]) -> Int32 {
    if request.bind {
        guard fds.count == 2 else { return EINVAL }
        let extra = request.flags & ~(0x1000 | 0x4000 | 0x8000 | attributeFlags)  // bind, rec, silent
        if extra != 0 { return EINVAL }
        // OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE: a detached copy of the source mount with
        // everything mounted on it - always recursive, so the copy uncovers nothing the runtime
        // mounted over (masked files, the read-only /proc/sys).
        let tree = sonde_open_tree(fds[1], "", UInt32(1 | O_CLOEXEC | 0x1000 | 0x8000))
        if tree < 0 { return errno }
        defer { close(tree) }
        let attributes = request.flags & attributeFlags
        if attributes != 0 && sonde_mount_setattr_empty(tree, attributes, 1) != 0 { return errno }
        // MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH: attach the tree on the target fd.
        if sonde_move_mount(tree, "", fds[0], "", 0x4 | 0x40) != 0 { return errno }
        return 0
    }
    guard fds.count == 1 else { return EINVAL }
    // mount(2) takes a path: the target fd becomes the cwd and the mount goes on ".".
    if fchdir(fds[0]) != 0 { return errno }
    defer { _ = chdir("/") }
    let result: Int32
    if let data = request.data {
        result = sonde_mount(request.source, ".", request.fstype, UInt(request.flags), data)
    } else {
        result = sonde_mount(request.source, ".", request.fstype, UInt(request.flags), nil)
    }
    return result == 0 ? 0 : errno
}

/// `exec-filtered NUMBERS -- CMD...` (for `sonde supervise run`): load a filter that notifies the
/// listed syscalls, send its notify fd to the agent, exec the command under it.
func execFiltered(_ arguments: [String]) -> Never {
    func fail(_ error: Int32) -> Never { reply(error); exit(127) }
    guard arguments.count >= 4, arguments[2] == "--" else { fail(EINVAL) }
    let numbers = arguments[1].split(separator: ",").compactMap { Int32($0) }
    // no_new_privs lets an unprivileged process load a filter, and keeps setuid binaries from
    // gaining privileges under it.
    if sonde_set_no_new_privs() != 0 { fail(errno) }
    guard let filter = seccomp_init(SCMP_ACT_ALLOW) else { fail(ENOMEM) }
    for number in numbers {
        let added = seccomp_rule_add_array(filter, SCMP_ACT_NOTIFY, number, 0, nil)
        if added != 0 { fail(-added) }
    }
    let loaded = seccomp_load(filter)
    if loaded != 0 { fail(-loaded) }
    let notify = seccomp_notify_fd(filter)
    if notify < 0 { fail(-notify) }
    var ok: Int32 = 0
    var fds = [notify]
    _ = sonde_send_with_fds(channel, &ok, 4, &fds, 1)
    close(notify)
    close(channel)
    let command = Array(arguments[3...])
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    execvp(command[0], argv)
    let error = errno
    let message = Array("sonde supervise run: cannot run \(command[0]): \(String(cString: strerror(error)))\n".utf8)
    _ = write(2, message, message.count)
    exit(127)
}

if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "exec-filtered" {
    execFiltered(Array(CommandLine.arguments.dropFirst()))
}

// Before anything of a container is touched: nobody may ptrace or read this process (see
// MountHelper), and it holds no fd but its socket and stdio.
if sonde_set_nondumpable() != 0 || sonde_close_from(channel + 1) != 0 { reply(errno); exit(1) }

let namespaceTypes: [String: Int32] = [
    "user": Int32(SONDE_CLONE_NEWUSER), "mnt": Int32(SONDE_CLONE_NEWNS), "pid": Int32(SONDE_CLONE_NEWPID),
    "net": 0x40000000, "ipc": 0x08000000, "uts": 0x04000000, "cgroup": 0x02000000,
]
guard let first = receive(), first.bytes.starts(with: Array("ns:".utf8)) else {
    reply(EINVAL)
    exit(2)
}
let names = String(decoding: first.bytes.dropFirst(3), as: UTF8.self).split(separator: ",").map(String.init)
guard names.count == first.fds.count, names.first == "user", names.allSatisfy({ namespaceTypes[$0] != nil }) else {
    reply(EINVAL)
    exit(2)
}
// A namespace the container shares with the host is the helper's already; joining it again from
// inside the container's user namespace would be refused (the host's user namespace owns it).
// Compared before any setns: once in the container's mount namespace, /proc is the container's.
let alreadyIn = zip(names, first.fds).map { sameNamespace($1, "/proc/self/ns/\($0)") }
// The user namespace first: it gives the capabilities the other setns calls need inside it.
for (index, name) in names.enumerated() where !alreadyIn[index] {
    if sonde_setns(first.fds[index], namespaceTypes[name]!) != 0 { reply(errno); exit(1) }
}
for fd in first.fds { close(fd) }
// The container's root: in its own user namespace, uid and gid 0 there (capabilities held only
// there); otherwise the host's root with no supplementary groups. Then only what mounting needs.
// Credential changes reset dumpability to fs.suid_dumpable: set again.
let keep: UInt64 = 1 << 21 | 1 << 2   // CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH
if sonde_become(0, 0, 1) != 0 || sonde_restrict_capabilities(keep) != 0 || sonde_set_nondumpable() != 0 { reply(errno); exit(1) }
// setns(CLONE_NEWPID) only moves children: the server is a child, so proc mounts show the container's pids.
let server = names.contains("pid") ? sonde_fork() : 0
if server < 0 { reply(errno); exit(1) }
if server > 0 {
    close(channel)
    waitForChild(server)
    exit(0)
}
reply(0)
while let message = receive() {
    defer { for fd in message.fds { close(fd) } }
    guard let request = MountHelper.Request.decode(message.bytes) else { reply(EINVAL); continue }
    reply(perform(request, fds: message.fds))
}
exit(0)
