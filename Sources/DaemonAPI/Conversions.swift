import Containers
import Events
import LinuxKit

// The API's messages mirror the library types one to one; these conversions are the only place
// that knows both shapes, shared by the daemon (server side) and the CLI and hook (client side).

extension Sonde_V1_Container {
    public init(_ c: Container) {
        self.init()
        runtime = c.runtime.rawValue
        id = c.id
        name = c.name
        initPid = c.initPID ?? 0
        cgroupPath = c.cgroupPath
        cgroupID = c.cgroupID
        mountNamespaceID = c.mountNamespaceID ?? 0
        image = c.image ?? ""
        bundle = c.bundle ?? ""
        rootfs = c.rootfs ?? ""
        labels = c.labels
        annotations = c.annotations
        if let pod = c.pod {
            self.pod = .with {
                $0.name = pod.name
                $0.namespace = pod.namespace
                $0.uid = pod.uid ?? ""
                $0.labels = pod.labels
            }
        }
    }

    public var container: Container {
        Container(runtime: RuntimeName(rawValue: runtime), id: id, name: name, initPID: initPid == 0 ? nil : initPid,
                  cgroupPath: cgroupPath, cgroupID: cgroupID,
                  mountNamespaceID: mountNamespaceID == 0 ? nil : mountNamespaceID,
                  image: image.isEmpty ? nil : image, bundle: bundle.isEmpty ? nil : bundle,
                  rootfs: rootfs.isEmpty ? nil : rootfs, labels: labels, annotations: annotations,
                  pod: hasPod ? Pod(name: pod.name, namespace: pod.namespace, uid: pod.uid.isEmpty ? nil : pod.uid,
                                    labels: pod.labels) : nil)
    }
}

extension Sonde_V1_Field {
    public init(name: String, value: FieldValue) {
        self.init()
        self.name = name
        switch value {
        case .int(let v): self.int = v
        case .uint(let v): self.uint = v
        case .string(let v): self.string = v
        case .strings(let values, let truncated):
            self.strings = .with {
                $0.values = values
                $0.truncated = truncated
            }
        case .result(let v): self.result = v
        case .bool(let v): self.bool = v
        }
    }

    /// nil for a field whose value the sender did not set (a newer daemon's kind of value, say).
    public var fieldValue: FieldValue? {
        switch value {
        case .int(let v): .int(v)
        case .uint(let v): .uint(v)
        case .string(let v): .string(v)
        case .strings(let list): .strings(list.values, truncated: list.truncated)
        case .result(let v): .result(v)
        case .bool(let v): .bool(v)
        case nil: nil
        }
    }
}

extension Sonde_V1_Event {
    public init(_ e: Event) {
        self.init()
        timestampNs = e.timestamp
        source = e.source
        process = .with {
            $0.pid = e.process.pid
            $0.tid = e.process.tid
            $0.ppid = e.process.ppid
            $0.uid = e.process.uid
            $0.gid = e.process.gid
            $0.comm = e.process.comm
        }
        cgroupID = e.cgroupID
        mountNamespaceID = e.mountNamespaceID
        if let c = e.container { container = Sonde_V1_Container(c) }
        fields = e.fields.map { Sonde_V1_Field(name: $0.name, value: $0.value) }
    }

    public var event: Event {
        Event(timestamp: timestampNs, source: source,
              process: ProcessRef(pid: process.pid, tid: process.tid, ppid: process.ppid, uid: process.uid,
                                  gid: process.gid, comm: process.comm),
              cgroupID: cgroupID, mountNamespaceID: mountNamespaceID,
              container: hasContainer ? container.container : nil,
              fields: fields.compactMap { field in field.fieldValue.map { (name: field.name, value: $0) } })
    }
}

extension Sonde_V1_Selector {
    /// The part a ContainerSelector expresses (names, runtimes, cgroup paths, host).
    public init(_ s: ContainerSelector) {
        self.init()
        names = s.names
        runtimes = s.runtimes.map(\.rawValue)
        cgroupPaths = s.cgroupPaths
        host = s.host
    }
}
