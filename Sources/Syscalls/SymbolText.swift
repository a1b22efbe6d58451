/// The syscall formatter's names of flags and values, for gadgets that show one argument at a
/// time (`trace open` shows O_RDONLY|O_CLOEXEC the way `record dump` does). One table, one spelling.
public enum SymbolText {
    /// open(2) flags: the access mode, then the other flags, unknown bits in hex.
    public static func openFlags(_ flags: UInt64) -> String {
        var out = Output(capacity: 48)
        Call.none.writeOpenFlags(flags & 0xFFFF_FFFF, to: &out)
        return out.string()
    }

    /// A permission mode in octal, "0644".
    public static func mode(_ mode: UInt64) -> String {
        var out = Output(capacity: 8)
        out.mode(mode & 0xFFFF_FFFF)
        return out.string()
    }

    /// mount(2) flags, "MS_RDONLY|MS_NOSUID"; "0" when none; the historical magic number in the
    /// high bits (MS_MGC_VAL) is named as strace names it.
    public static func mountFlags(_ flags: UInt64) -> String {
        let flags = flags & 0xFFFF_FFFF
        guard flags & 0xFFFF_0000 == 0xC0ED_0000 else { return flagText(Names.mountFlags, flags) }
        let meaningful = flags & 0xFFFF
        return meaningful == 0 ? "MS_MGC_VAL" : "MS_MGC_VAL|" + flagText(Names.mountFlags, meaningful)
    }

    /// umount2(2) flags, "MNT_DETACH"; "0" when none.
    public static func umountFlags(_ flags: UInt64) -> String { flagText(Names.umountFlags, flags) }

    /// "SIGKILL", "SIGRTMIN", "SIGRT_3", or the number.
    public static func signal(_ signal: Int64) -> String {
        var out = Output(capacity: 12)
        Call.none.writeSignal(signal, to: &out)
        return out.string()
    }

    /// "CAP_SYS_ADMIN", or the number for one this table does not know.
    public static func capability(_ capability: Int64) -> String {
        Names.capabilities.name(capability).map { "\($0)" } ?? String(capability)
    }

    /// "AF_INET", or the number.
    public static func addressFamily(_ family: Int64) -> String {
        Names.families.name(family).map { "\($0)" } ?? String(family)
    }

    /// "SOCK_STREAM", or the number.
    public static func socketType(_ type: Int64) -> String {
        Names.socketTypes.name(type).map { "\($0)" } ?? String(type)
    }

    /// "TCP" for IPPROTO_TCP, or the number.
    public static func ipProtocol(_ protocolNumber: Int64) -> String {
        guard let name = Names.ipProtocols.name(protocolNumber) else { return String(protocolNumber) }
        let text = "\(name)"
        return text.hasPrefix("IPPROTO_") ? String(text.dropFirst(8)) : text
    }

    /// "10.0.0.1" from 4 bytes.
    public static func ipv4<C: Collection<UInt8>>(_ bytes: C) -> String {
        var out = Output(capacity: 16)
        out.ipv4(ArraySlice(bytes))
        return out.string()
    }

    /// "::1", "fe80::1", "::ffff:10.0.0.1" from 16 bytes, as inet_ntop writes them.
    public static func ipv6<C: Collection<UInt8>>(_ bytes: C) -> String {
        precondition(bytes.count == 16)
        var out = Output(capacity: 40)
        out.ipv6(ArraySlice(bytes))
        return out.string()
    }

    private static func flagText(_ set: FlagSet, _ flags: UInt64) -> String {
        var out = Output(capacity: 32)
        set.write(flags & 0xFFFF_FFFF, to: &out)
        return out.string()
    }
}

extension Call {
    /// A call without arguments: the writers used above read only what they are given.
    fileprivate static let none = Call(record: SyscallRecord(number: 0, arguments: [], completion: .returned(0)), limit: 0)
}
