import Foundation

/// The OCI runtime-spec seccomp section for a policy: allow everything, notify the agent of the
/// syscalls the policy decides on.
public enum SeccompProfile {
    public static func ociSection(policy: Policy, socket: String, metadata: String?) -> String {
        var syscalls = policy.interceptedSyscalls
        if syscalls.isEmpty { syscalls = ["mknod", "mknodat"] }
        var section: [String: Any] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "listenerPath": socket,
            "syscalls": [["names": syscalls, "action": "SCMP_ACT_NOTIFY"]],
        ]
        if let metadata { section["listenerMetadata"] = metadata }
        let data = (try? JSONSerialization.data(withJSONObject: ["linux": ["seccomp": section]],
                                                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
