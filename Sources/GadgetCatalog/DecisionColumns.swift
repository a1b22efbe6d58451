import Events

/// The columns of a supervisor decision (a "supervise" event), shared by `sonde supervise --events`,
/// `sonde daemon supervise-events` and cluster mode, which each put their own columns around them.
public enum DecisionColumns {
    /// What was called and how it was answered.
    public static let verdict: [Column] = [
        .field("SYSCALL", "syscall", width: 9),
        .field("VERDICT", "verdict", width: 11),
        .field("RET", "ret", width: 7),
    ]

    /// From the notification to the answer, in microseconds.
    public static let latency = Column("LAT(us)", width: 7, alignment: .right) { $0.field("latency_us").map(FieldText.text) ?? "" }

    /// The decoded arguments and the rule that decided.
    public static let call = Column("CALL", width: 0) { event in
        let args = event.field("args").map(FieldText.text) ?? ""
        let rule = event.field("rule").map(FieldText.text) ?? ""
        return "\(args)  [\(rule)]"
    }
}
