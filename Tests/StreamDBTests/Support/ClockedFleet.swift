import Foundation
import NIOConcurrencyHelpers
import StreamDBAPI
import StreamDBModel
import StreamDBSync
import StreamSim

/// A simulator whose fleet and syncs share a clock the test sets: every status change is dated
/// exactly, so figures can be worked out by hand. One temporary database; `stop()` removes it.
final class ClockedFleet: Sendable {
    /// A clock the fleet and the syncs share, set by the test.
    final class Clock: Sendable {
        private let now = NIOLockedValueBox(Date())
        var date: Date { now.withLockedValue { $0 } }
        func set(_ date: Date) { now.withLockedValue { $0 = date } }
    }

    let t0: Date
    let clock = Clock()
    let fleet: Fleet
    let server: SimulatorServer
    let directory: URL
    let databasePath: String
    private let session: SyncSession

    /// A fleet of `size` streams, created `lead` seconds before `t0`.
    init(t0: Date, size: Int, seed: UInt64, lead: TimeInterval = 600) async throws {
        self.t0 = t0
        let clock = self.clock
        clock.set(t0.addingTimeInterval(-lead))
        fleet = Fleet(size: size, seed: seed, clock: { clock.date })
        server = try await SimulatorServer.start(fleet: fleet, options: SimulatorOptions())
        directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-clocked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appending(path: "h.sqlite").path()
        var session = SyncSession(databasePath: databasePath, api: APIConfiguration(baseURL: URL(string: server.baseURL)!))
        session.clock = { clock.date }
        self.session = session
    }

    var uids: [String] { fleet.liveStreams.map(\.jobUID) }

    /// `t0` plus `minutes`.
    func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }

    /// Sets the clock to `minutes` after t0 (for a change the server dates then).
    func set(_ minutes: Double) { clock.set(at(minutes)) }

    /// A sync at `minutes` after t0.
    @discardableResult
    func sync(at minutes: Double) async throws -> SyncReport {
        set(minutes)
        return try await session.run(logger: TestHarness.quietLogger)
    }

    func stop() async {
        await server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a ``ClockedFleet``, stopped afterwards whatever happens.
func withClockedFleet<T>(
    t0: String, size: Int, seed: UInt64, lead: TimeInterval = 600, _ body: (ClockedFleet) async throws -> T
) async throws -> T {
    let fleet = try await ClockedFleet(t0: Timestamp.parse(t0)!, size: size, seed: seed, lead: lead)
    do {
        let result = try await body(fleet)
        await fleet.stop()
        return result
    } catch {
        await fleet.stop()
        throw error
    }
}
