import Foundation

/// A BPF object file compiled from bpf/NAME.bpf.c during the build and carried inside the binary.
/// The plugin adds one `EmbeddedBPF.NAME` per program.
public struct EmbeddedBPFObject: Sendable {
    public let name: String
    private let base64: String

    public init(name: String, base64: String) {
        self.name = name
        self.base64 = base64
    }

    /// The ELF bytes, as bpf_object__open_mem wants them.
    public var bytes: [UInt8] {
        // The plugin wrote this string with base64(1); failing to decode means a broken build.
        guard let data = Data(base64Encoded: base64) else {
            preconditionFailure("embedded BPF object \(name) is not valid base64: rebuild sonde")
        }
        return [UInt8](data)
    }
}

/// Namespace for the embedded programs; see Plugins/BPFCompiler.
public enum EmbeddedBPF {}
