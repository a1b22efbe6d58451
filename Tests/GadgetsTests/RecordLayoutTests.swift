import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

/// A struct the kernel writes and user space reads (a record, a map key or value): its size and
/// field offsets in the object's BTF must be the ones the Swift side reads at.
struct StructLayoutCheck: Sendable, CustomTestStringConvertible {
    let object: EmbeddedBPFObject
    let structName: String
    let size: Int?
    let offsets: [String: Int?]

    init(_ object: EmbeddedBPFObject, _ structName: String, size: Int?, offsets: [String: Int?]) {
        self.object = object
        self.structName = structName
        self.size = size
        self.offsets = offsets
    }

    var testDescription: String { "\(object.name): struct \(structName)" }
}

@Suite struct RecordLayoutTests {
    static let checks: [StructLayoutCheck] = [
        StructLayoutCheck(EmbeddedBPF.advise, "sonde_advise_event", size: SeccompAdvisor.Layout.size,
                          offsets: ["syscall_nr": SeccompAdvisor.Layout.syscallNumber]),
        StructLayoutCheck(EmbeddedBPF.advise, "sonde_syscall_set", size: MemoryLayout<SeccompAdvisor.SyscallSet>.size,
                          offsets: [:]),
        StructLayoutCheck(EmbeddedBPF.bind, "sonde_bind_event", size: BindGadget.Layout.size,
                          offsets: ["ret": BindGadget.Layout.ret,
                                    "fd": BindGadget.Layout.fd,
                                    "addrlen": BindGadget.Layout.addrlen,
                                    "sock_type": BindGadget.Layout.socketType,
                                    "protocol": BindGadget.Layout.protocolNumber,
                                    "copied": BindGadget.Layout.copied,
                                    "addr": BindGadget.Layout.addr]),
        StructLayoutCheck(EmbeddedBPF.capabilities, "sonde_capability_event", size: CapabilitiesGadget.Layout.size,
                          offsets: ["cap": CapabilitiesGadget.Layout.capability,
                                    "ret": CapabilitiesGadget.Layout.ret,
                                    "syscall_nr": CapabilitiesGadget.Layout.syscallNumber,
                                    "target_userns": CapabilitiesGadget.Layout.targetUserNamespace,
                                    "capable_userns": CapabilitiesGadget.Layout.capableUserNamespace,
                                    "in_init_userns": CapabilitiesGadget.Layout.inInitUserNamespace]),
        StructLayoutCheck(EmbeddedBPF.exec, "sonde_event_header", size: RecordHeader.size,
                          offsets: ["timestamp_ns": 0, "cgroup_id": 8, "mntns_id": 16, "kind": 24, "pid": 28, "tid": 32, "ppid": 36,
                                    "uid": 40, "gid": 44, "comm": 48]),
        StructLayoutCheck(EmbeddedBPF.exec, "sonde_exec_event", size: ExecGadget.Layout.args + 2 * ExecGadget.Layout.argsCapacity,
                          offsets: ["retval": ExecGadget.Layout.retval,
                                    "args_count": ExecGadget.Layout.argsCount,
                                    "args_size": ExecGadget.Layout.argsSize,
                                    "flags": ExecGadget.Layout.flags,
                                    "syscall_nr": ExecGadget.Layout.syscallNumber,
                                    "path": ExecGadget.Layout.path,
                                    "args": ExecGadget.Layout.args]),
        StructLayoutCheck(EmbeddedBPF.exec, "sonde_cgroup_event", size: nil,
                          offsets: ["path": CgroupRecord.pathOffset]),
        StructLayoutCheck(EmbeddedBPF.mount, "sonde_mount_event", size: MountGadget.Layout.size,
                          offsets: ["ret": MountGadget.Layout.ret,
                                    "flags": MountGadget.Layout.flags,
                                    "syscall_nr": MountGadget.Layout.syscallNumber,
                                    "event_flags": MountGadget.Layout.eventFlags,
                                    "source": MountGadget.Layout.source,
                                    "target": MountGadget.Layout.target,
                                    "fstype": MountGadget.Layout.fstype,
                                    "data": MountGadget.Layout.data]),
        StructLayoutCheck(EmbeddedBPF.oomkill, "sonde_oomkill_event", size: OOMKillGadget.Layout.size,
                          offsets: ["victim_pid": OOMKillGadget.Layout.victimPID,
                                    "victim_tid": OOMKillGadget.Layout.victimTID,
                                    "victim_uid": OOMKillGadget.Layout.victimUID,
                                    "victim_oom_score_adj": OOMKillGadget.Layout.victimOOMScoreAdjust,
                                    "victim_cgroup_id": OOMKillGadget.Layout.victimCgroupID,
                                    "total_vm_pages": OOMKillGadget.Layout.totalVM,
                                    "anon_rss_pages": OOMKillGadget.Layout.anonRSS,
                                    "file_rss_pages": OOMKillGadget.Layout.fileRSS,
                                    "shmem_rss_pages": OOMKillGadget.Layout.shmemRSS,
                                    "victim_comm": OOMKillGadget.Layout.victimComm]),
        StructLayoutCheck(EmbeddedBPF.open, "sonde_open_event", size: OpenGadget.Layout.size,
                          offsets: ["ret": OpenGadget.Layout.ret,
                                    "flags": OpenGadget.Layout.flags,
                                    "mode": OpenGadget.Layout.mode,
                                    "syscall_nr": OpenGadget.Layout.syscallNumber,
                                    "dirfd": OpenGadget.Layout.dirfd,
                                    "event_flags": OpenGadget.Layout.eventFlags,
                                    "path": OpenGadget.Layout.path]),
        StructLayoutCheck(EmbeddedBPF.ptrace, "sonde_ptrace_event", size: PtraceGadget.Layout.size,
                          offsets: ["retval": PtraceGadget.Layout.retval,
                                    "request": PtraceGadget.Layout.request,
                                    "target_pid": PtraceGadget.Layout.targetPID,
                                    "addr": PtraceGadget.Layout.addr,
                                    "data": PtraceGadget.Layout.data]),
        StructLayoutCheck(EmbeddedBPF.signal, "sonde_signal_event", size: SignalGadget.Layout.size,
                          offsets: ["error": SignalGadget.Layout.error,
                                    "sig": SignalGadget.Layout.signal,
                                    "code": SignalGadget.Layout.code,
                                    "target_pid": SignalGadget.Layout.targetPID,
                                    "target_tid": SignalGadget.Layout.targetTID,
                                    "target_cgroup_id": SignalGadget.Layout.targetCgroupID,
                                    "group": SignalGadget.Layout.group,
                                    "result": SignalGadget.Layout.result,
                                    "target_comm": SignalGadget.Layout.targetComm]),
        StructLayoutCheck(EmbeddedBPF.startup, "sonde_startup_event", size: StartupGadget.Layout.size,
                          offsets: ["cgroup_id": StartupGadget.Layout.cgroupID,
                                    "runtime_exec_ns": StartupGadget.Layout.runtimeExec,
                                    "step": StartupGadget.Layout.step,
                                    "port": StartupGadget.Layout.port,
                                    "peer_port": StartupGadget.Layout.peerPort,
                                    "level": StartupGadget.Layout.level,
                                    "runtime_path": StartupGadget.Layout.runtimePath,
                                    "cgroup_path": StartupGadget.Layout.cgroupPath]),
        StructLayoutCheck(EmbeddedBPF.syscall_metrics, "sonde_sysmet_key", size: MemoryLayout<SyscallMetricsGadget.Key>.size,
                          offsets: ["nr": MemoryLayout<SyscallMetricsGadget.Key>.offset(of: \.nr)]),
        StructLayoutCheck(EmbeddedBPF.syscall_metrics, "sonde_sysmet_value", size: MemoryLayout<SyscallMetricsGadget.Value>.size,
                          offsets: ["errors": MemoryLayout<SyscallMetricsGadget.Value>.offset(of: \.errors),
                                    "latency_ns": MemoryLayout<SyscallMetricsGadget.Value>.offset(of: \.latencyNanoseconds),
                                    "buckets": MemoryLayout<SyscallMetricsGadget.Value>.offset(of: \.buckets)]),
        StructLayoutCheck(EmbeddedBPF.tcp, "sonde_tcp_event", size: TcpGadget.Layout.size,
                          offsets: ["retval": TcpGadget.Layout.retval,
                                    "type": TcpGadget.Layout.type,
                                    "family": TcpGadget.Layout.family,
                                    "sport": TcpGadget.Layout.sourcePort,
                                    "dport": TcpGadget.Layout.destinationPort,
                                    "state": TcpGadget.Layout.state,
                                    "saddr": TcpGadget.Layout.sourceAddress,
                                    "daddr": TcpGadget.Layout.destinationAddress]),
        StructLayoutCheck(EmbeddedBPF.topfile, "sonde_topfile_key", size: MemoryLayout<TopFileGadget.Key>.size,
                          offsets: ["cgroup_id": MemoryLayout<TopFileGadget.Key>.offset(of: \.cgroupID),
                                    "pid": MemoryLayout<TopFileGadget.Key>.offset(of: \.pid),
                                    "inode": MemoryLayout<TopFileGadget.Key>.offset(of: \.inode)]),
        StructLayoutCheck(EmbeddedBPF.topfile, "sonde_topfile_value", size: MemoryLayout<TopFileGadget.Value>.size,
                          offsets: ["write_bytes": MemoryLayout<TopFileGadget.Value>.offset(of: \.writeBytes),
                                    "mode": MemoryLayout<TopFileGadget.Value>.offset(of: \.mode),
                                    "comm": MemoryLayout<TopFileGadget.Value>.offset(of: \.comm),
                                    "name": MemoryLayout<TopFileGadget.Value>.offset(of: \.name)]),
        StructLayoutCheck(EmbeddedBPF.toptcp, "sonde_toptcp_key", size: MemoryLayout<TopTcpGadget.Key>.size,
                          offsets: ["pid": MemoryLayout<TopTcpGadget.Key>.offset(of: \.pid)]),
        StructLayoutCheck(EmbeddedBPF.toptcp, "sonde_toptcp_value", size: MemoryLayout<TopTcpGadget.Value>.size,
                          offsets: ["comm": MemoryLayout<TopTcpGadget.Value>.offset(of: \.comm),
                                    "ends": MemoryLayout<TopTcpGadget.Value>.offset(of: \.ends)]),
        StructLayoutCheck(EmbeddedBPF.toptcp, "sonde_toptcp_endpoints", size: MemoryLayout<TopTcpGadget.Endpoints>.size,
                          offsets: ["saddr": MemoryLayout<TopTcpGadget.Endpoints>.offset(of: \.sourceAddress),
                                    "daddr": MemoryLayout<TopTcpGadget.Endpoints>.offset(of: \.destinationAddress)]),
    ]

    @Test(arguments: checks) func userSpaceReadsTheLayoutTheProgramWrites(_ check: StructLayoutCheck) throws {
        let object = try BPFObject(name: check.object.name, bytes: check.object.bytes)
        let layout = try #require(object.structLayout(check.structName))
        if let size = check.size { #expect(layout.size == size) }
        for (field, offset) in check.offsets {
            #expect(layout.offsets[field] == offset, "\(check.structName).\(field)")
        }
    }
}
