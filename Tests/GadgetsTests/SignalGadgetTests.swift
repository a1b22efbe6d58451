import BPFKit
import BPFObjects
import Testing
@testable import Gadgets

@Suite struct SignalGadgetTests {
    func record(error: Int64 = 0, signal: Int32, code: Int32, result: UInt32) -> BPFRecord {
        var bytes = [UInt8](repeating: 0, count: SignalGadget.Layout.size)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(error, at: SignalGadget.Layout.error)
        put(signal, at: SignalGadget.Layout.signal)
        put(code, at: SignalGadget.Layout.code)
        put(result, at: SignalGadget.Layout.result)
        return BPFRecord(bytes: bytes)
    }

    func fields(_ r: BPFRecord) throws -> [String: String] {
        let header = try #require(RecordHeader(r))
        let decoded = try #require(SignalGadget().decode(r, header: header))
        var out: [String: String] = [:]
        for (name, value) in decoded { if case .string(let s) = value { out[name] = s } }
        return out
    }

    @Test func namesSignalsCodesAndResults() throws {
        let kill = try fields(record(signal: 9, code: 0, result: 0))
        #expect(kill["signal"] == "SIGKILL" && kill["code"] == "SI_USER" && kill["result"] == "delivered")
        let child = try fields(record(signal: 17, code: 2, result: 1))
        #expect(child["code"] == "CLD_KILLED" && child["result"] == "ignored")
        let failed = try fields(record(error: -3, signal: 10, code: 0, result: 100))
        #expect(failed["result"] == "ESRCH" && failed["signal"] == "SIGUSR1")
        let realtime = try fields(record(signal: 35, code: -1, result: 2))
        #expect(realtime["signal"] == "SIGRT_3" && realtime["code"] == "SI_QUEUE" && realtime["result"] == "already_pending")
    }
}
