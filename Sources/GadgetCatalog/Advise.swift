import Events

extension GadgetDescription {
    public static let seccompProfile = GadgetDescription(
        kind: .advise, name: "seccomp-profile", eventStream: false,
        abstract: "Record the syscalls of containers and write an OCI seccomp profile for each.",
        catalog: FieldCatalog(own: [
            .gadget("syscall", .string, "a syscall the container made for the first time", width: 0),
            .gadget("nr", .uint, "its x86_64 number", width: 4),
        ], defaultFields: ["container", "pid", "comm", "syscall"]))
}
