/// The rules `sonde audit` runs without --rules, printed by `sonde audit --print-default-rules`.
/// Kept in the binary (not a bundle resource) so that an installed sonde always has them; each rule
/// has an integration test with a container that breaks it and one that must not
/// (Tests/IntegrationTests/AuditTests.swift).
public enum DefaultRules {
    public static let file = "default-rules.yaml"

    public static let yaml = #"""
# sonde audit: the default rules.
#
# A rule watches the events of one or more sources (the gadgets of `sonde trace`: exec, open, bind,
# signal, capabilities, mount, oomkill, tcp, ptrace; and supervise, the supervisor's decisions) and
# alerts when its condition holds. `sonde trace NAME --help` lists each source's fields.
#
# runc's own setup runs in the container's cgroup before the container's process starts (comm
# runc before it names itself, then runc:[0:PARENT], runc:[1:CHILD], runc:[2:INIT]): the rules
# leave it out.

rules:
  - name: shell-in-container
    description: A shell was started in a container (an exec session, or a script the image runs).
    source: exec
    condition:
      - ret = 0
      - 'path ~ (^|/)(sh|ash|bash|dash|zsh|ksh|mksh|csh|tcsh|fish)$'
    severity: warning
    message: "shell {path} started in container {container} (pid {pid}, parent {ppid}): {args}"

  - name: write-under-etc
    description: A file under /etc was opened for writing, created or truncated.
    source: open
    condition:
      - 'path ~ ^/etc(/|$)'
      - 'flags ~ O_WRONLY|O_RDWR|O_CREAT|O_TRUNC'
      - 'comm !~ ^runc(:\[|$)'
    severity: error
    message: "{comm} (pid {pid}) opened {path} with {flags} in container {container}: {fd}"

  - name: mount-in-container
    description: A process of a container called mount or move_mount (a host path or a filesystem
      mounted into the container, or an attempt at it).
    source: mount
    condition:
      - syscall in [mount, move_mount]
      - 'comm !~ ^runc(:\[|$)'
    severity: error
    message: "{comm} (pid {pid}) mounted {source} on {target} (type {fstype}, {flags}) in container {container}: {ret}"

  - name: ptrace-in-container
    description: A process of a container called ptrace (a debugger, strace, or code injection).
    source: ptrace
    severity: error
    message: "{comm} (pid {pid}) called ptrace {request} on pid {target_pid} in container {container}: {ret}"

  - name: privileged-capability
    description: A container used a privileged capability for the first time (once per container
      and capability). Only granted checks count; a denied one changed nothing.
    source: capabilities
    condition:
      - verdict = allow
      - cap in [CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_SYS_RAWIO, CAP_BPF, CAP_PERFMON, CAP_SYS_BOOT, CAP_SYS_TIME, CAP_DAC_READ_SEARCH]
      - 'comm !~ ^runc(:\[|$)'
      # The kernel checks CAP_SYS_ADMIN, without auditing it, to account memory (brk, mmap,
      # clone, execve, writes to tmpfs and memfd...): holding it is not using it.
      - not:
          all:
            - cap = CAP_SYS_ADMIN
            - any:
                - syscall in [brk, mmap, mremap, mprotect, munmap, clone, clone3, fork, vfork, execve, execveat, shmget, mlock, mlockall]
                - syscall in [write, pwrite64, writev, pwritev, pwritev2, sendfile, splice, copy_file_range, fallocate, ftruncate]
                - syscall !~ .
    once_per: [container, cap]
    severity: warning
    message: "container {container} used {cap} ({comm}, pid {pid}, syscall {syscall})"

  - name: supervisor-denied
    description: The seccomp supervisor denied a call of a supervised container, or killed it
      (needs a sonde daemon with the supervise key).
    source: supervise
    condition: verdict in [deny, kill]
    severity: warning
    message: "supervisor {verdict} {syscall}({args}) of {comm} (pid {pid}) in container {container}: rule {rule}"
"""#
}
