import Containers
import LinuxKit

/// Renders an event as one JSON object on one line (JSON Lines), for jq and log shippers.
/// Written by hand: it runs once per event on the hot path, and the shape is fixed.
public struct JSONRenderer: Sendable {
    public init() {}

    public func render(_ event: Event) -> String {
        let line = JSONLine()
        line.append(event)
        return line.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    static func object(_ c: Container) -> String {
        var out = "{\"runtime\":" + quote(c.runtime.rawValue) + ",\"id\":" + quote(c.id) + ",\"name\":" + quote(c.name)
        if let pod = c.pod {
            out += ",\"pod\":" + quote(pod.name) + ",\"namespace\":" + quote(pod.namespace)
            if !pod.labels.isEmpty { out += ",\"pod_labels\":" + dictionary(pod.labels) }
        }
        if !c.labels.isEmpty { out += ",\"labels\":" + dictionary(c.labels) }
        return out + "}"
    }

    static func dictionary(_ d: [String: String]) -> String {
        "{" + d.sorted { $0.key < $1.key }.map { quote($0.key) + ":" + quote($0.value) }.joined(separator: ",") + "}"
    }

    /// A JSON string literal; control characters and invalid text are escaped, never passed raw.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4, with: "0")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension JSONRenderer {
    /// Everything sonde knows of a container, as one JSON object (`sonde containers -o json`).
    public static func describe(_ c: Container) -> String {
        var out = "{\"runtime\":" + quote(c.runtime.rawValue) + ",\"id\":" + quote(c.id) + ",\"name\":" + quote(c.name)
        if let pid = c.initPID { out += ",\"pid\":\(pid)" }
        out += ",\"cgroup_path\":" + quote(c.cgroupPath) + ",\"cgroup_id\":\(c.cgroupID)"
        if let mntns = c.mountNamespaceID { out += ",\"mntns_id\":\(mntns)" }
        if let image = c.image { out += ",\"image\":" + quote(image) }
        if let bundle = c.bundle { out += ",\"bundle\":" + quote(bundle) }
        if let rootfs = c.rootfs { out += ",\"rootfs\":" + quote(rootfs) }
        out += ",\"labels\":" + dictionary(c.labels) + ",\"annotations\":" + dictionary(c.annotations)
        if let pod = c.pod {
            out += ",\"pod\":{\"name\":" + quote(pod.name) + ",\"namespace\":" + quote(pod.namespace)
            if let uid = pod.uid { out += ",\"uid\":" + quote(uid) }
            out += ",\"labels\":" + dictionary(pod.labels) + "}"
        }
        return out + "}"
    }
}
