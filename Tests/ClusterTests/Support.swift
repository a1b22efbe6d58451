import Foundation
import TestSupport

/// A scratch directory removed by `remove()`.
func scratchDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A CA; a certificate for every node's daemon naming DNS:sonde-daemon (the DaemonSet's one
/// certificate); a client certificate; a server certificate for 127.0.0.1 (the fake API server).
func makeCertificates(in directory: String) throws {
    let script = """
    set -e
    cd "\(directory)"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sonde-test-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout daemon.key -out daemon.csr -subj /CN=sonde-daemon 2>/dev/null
    printf 'subjectAltName=DNS:sonde-daemon\\n' > daemon.ext
    openssl x509 -req -in daemon.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out daemon.pem -days 1 -extfile daemon.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=sonde-client 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout api.key -out api.csr -subj /CN=127.0.0.1 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\\n' > api.ext
    openssl x509 -req -in api.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out api.pem -days 1 -extfile api.ext 2>/dev/null
    """
    try must("/bin/sh", ["-c", script], timeout: 120)
}

/// A real runc busybox container running `script`, deleted by `remove()`.
final class TestContainer: @unchecked Sendable {
    let name: String
    let bundle: String

    init(prefix: String, script: String) throws {
        name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        bundle = NSTemporaryDirectory() + "sonde-cluster-\(name)"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try must("/bin/sh", [packageRoot.appendingPathComponent("scripts/make-rootfs.sh").path, bundle + "/rootfs"])
        try must("/usr/sbin/runc", ["spec", "--bundle", bundle])
        let url = URL(fileURLWithPath: bundle + "/config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var process = config["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = ["/bin/sh", "-c", script]
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    func start() throws {
        try must("/usr/sbin/runc", ["run", "-d", "--bundle", bundle, name], timeout: 60)
    }

    /// Sends its mknod calls to the seccomp agent listening on `socket` (a daemon's "supervise").
    func supervise(socket: String, metadata: String) throws {
        let url = URL(fileURLWithPath: bundle + "/config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var linux = config["linux"] as! [String: Any]
        linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "listenerPath": socket,
                            "listenerMetadata": metadata,
                            "syscalls": [["names": ["mknod", "mknodat"], "action": "SCMP_ACT_NOTIFY"]]]
        config["linux"] = linux
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    func remove() {
        _ = try? run("/usr/sbin/runc", ["delete", "--force", name], timeout: 30)
        try? FileManager.default.removeItem(atPath: bundle)
    }
}
