import Containers
@testable import Daemon
import Events
import Foundation
import LinuxKit
import XCTest

/// The daemon's fan-out of supervisor decisions (WatchSupervisor) and its config key.
final class SupervisorFeedTests: XCTestCase {
    func decision(_ n: Int) -> Event {
        Event(timestamp: Int64(n), source: "supervise", process: ProcessRef(pid: 1, tid: 1, ppid: 0, uid: 0, gid: 0, comm: "mknod"),
              cgroupID: 0, mountNamespaceID: 0, container: nil, fields: [("n", .int(Int64(n)))])
    }

    func drain(_ subscription: SupervisorFeed.Subscription) async -> [Int64] {
        subscription.finish()
        var seen: [Int64] = []
        for await item in subscription.items {
            if case .event(let event) = item { seen.append(event.timestamp) }
        }
        return seen
    }

    func testASlowClientLosesOnlyItsOwnEventsCountedAndPublishingNeverWaits() async {
        let feed = SupervisorFeed(capacity: 5)
        let slow = feed.subscribe()
        let reader = feed.subscribe()
        // The reader keeps up: it takes each event before the next is published. The slow one reads nothing.
        var reading = reader.items.makeAsyncIterator()
        var seen: [Int64] = []
        let started = ContinuousClock.now
        for n in 0..<20 {
            feed.publish(decision(n))
            if case .event(let event)? = await reading.next() { seen.append(event.timestamp) }
        }
        // publish returned at once each time although one client read nothing.
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertEqual(seen, Array(0..<20))
        XCTAssertEqual(reader.lost, 0)
        // 20 events into a buffer of 5 that nobody read: 15 lost, the first 5 kept (oldest first).
        XCTAssertEqual(slow.lost, 15)
        let kept = await drain(slow)
        XCTAssertEqual(kept, [0, 1, 2, 3, 4])
        reader.cancel()
    }

    func testAClientThatLeavesIsForgottenAndTheOthersGoOn() async {
        let feed = SupervisorFeed(capacity: 100)
        let leaving = feed.subscribe()
        let staying = feed.subscribe()
        XCTAssertEqual(feed.subscriberCount, 2)
        feed.publish(decision(1))
        leaving.cancel()
        leaving.cancel() // idempotent
        XCTAssertEqual(feed.subscriberCount, 1)
        feed.publish(decision(2))
        let stayed = await drain(staying)
        let left = await drain(leaving)
        XCTAssertEqual(stayed, [1, 2])
        XCTAssertEqual(left, [1])
        // A stream that ended (finish) stops receiving too.
        XCTAssertEqual(feed.subscriberCount, 0)
    }

    func testTicksAreNeverCountedAsLosses() async {
        let feed = SupervisorFeed(capacity: 1)
        let subscription = feed.subscribe()
        subscription.tick()
        subscription.tick() // one tick waits at most: this one is not queued
        XCTAssertEqual(subscription.lost, 0)
        var reading = subscription.items.makeAsyncIterator()
        guard case .tick? = await reading.next() else { return XCTFail("expected the tick") }
        subscription.tickTaken()
        // The buffer (1) is free for a decision.
        feed.publish(decision(7))
        guard case .event(let event)? = await reading.next() else { return XCTFail("expected the decision") }
        XCTAssertEqual(event.timestamp, 7)
        XCTAssertEqual(subscription.lost, 0)
        subscription.cancel()
    }

    func testSuperviseConfigKey() throws {
        let config = try DaemonConfig.parse(Data(#"{"supervise": {"socket": "/run/sonde/supervise.sock", "policy": "/etc/sonde/policy.json"}}"#.utf8))
        XCTAssertEqual(config.supervise, .init(socket: "/run/sonde/supervise.sock", policy: "/etc/sonde/policy.json"))
        XCTAssertNil(try DaemonConfig.parse(Data("{}".utf8)).supervise)
        func error(_ text: String) -> String {
            do {
                _ = try DaemonConfig.parse(Data(text.utf8), source: "daemon.json")
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertTrue(error(#"{"supervise": {"socket": "/s"}}"#).contains("daemon.json.supervise needs both socket"), error(#"{"supervise": {"socket": "/s"}}"#))
        XCTAssertTrue(error(#"{"supervise": {"socket": "/s", "policy": "/p", "polcy": 1}}"#).contains("unknown key 'polcy'"))
        XCTAssertTrue(error(#"{"supervise": {"socket": "/a.sock", "policy": "/p"}, "socket": "/a.sock"}"#).contains("must differ"))
        XCTAssertTrue(error(#"{"supervise": true}"#).contains("daemon.json.supervise: expected an object"))
    }
}
