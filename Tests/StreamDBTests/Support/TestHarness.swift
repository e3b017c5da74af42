import Foundation
import GRDB
import Logging
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import StreamSim

/// A simulator on loopback and a history database in a fresh temporary folder: the real parts
/// every sync test runs against.
final class TestHarness: Sendable {
    let directory: URL
    let server: SimulatorServer
    let databasePath: String

    var fleet: Fleet { server.fleet }

    /// `clock` is the fleet's (the time it writes into `updated_at`).
    init(
        streams: Int = 20, seed: UInt64 = 7, options: SimulatorOptions = SimulatorOptions(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appending(path: "history.sqlite").path()
        server = try await SimulatorServer.start(fleet: Fleet(size: streams, seed: seed, clock: clock), options: options)
    }

    /// The API configuration tests use: quick retries so fault tests stay short.
    func configuration(token: String? = nil) throws -> APIConfiguration {
        var configuration = APIConfiguration(baseURL: try APIConfiguration.parseBaseURL(server.baseURL))
        configuration.token = token
        configuration.retryBaseDelay = 0.01
        configuration.maxRetryWait = 0.05
        configuration.timeout = 2
        return configuration
    }

    /// Runs one sync in-process, as `streamdb sync` does.
    @discardableResult
    func sync(
        _ options: SyncOptions = SyncOptions(), token: String? = nil, source: String? = nil,
        configure: (inout APIConfiguration) -> Void = { _ in }
    ) async throws -> SyncReport {
        var configuration = try configuration(token: token)
        configure(&configuration)
        var session = SyncSession(databasePath: databasePath, api: configuration)
        session.options = options
        session.sourceName = source
        session.integrityCheck = .always
        return try await session.run(logger: Self.quietLogger)
    }

    /// A logger that prints nothing: the test output stays readable, and what a sync logs is
    /// not what the tests check (they check what it stored and returned).
    static let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A plain read connection to the database, for assertions.
    func database() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: databasePath, configuration: configuration)
    }

    /// A synchronous read, for assertions.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database().read(body)
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try database().read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }

    /// The SQL that counts streams whose `current_version` has no stored version, or whose
    /// `current_rest_id` (migration 0011) is not that version's payload document: 0 in any
    /// consistent database.
    static let missingCurrentVersionsSQL = """
        SELECT count(*) FROM streams AS st LEFT JOIN versions AS v
          ON v.stream_id = st.stream_id AND v.version = st.current_version
        WHERE v.stream_id IS NULL OR v.rest_id IS NOT st.current_rest_id
        """

    /// Row counts of every table that a sync adds history to.
    func historyCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in ["snapshots", "documents", "status_history", "config_areas", "config_fences", "document_regions", "regions"] {
            counts[table] = try count("SELECT count(*) FROM \(table)")
        }
        return counts
    }

    /// Whether the database's current state of every stream matches what the simulator serves
    /// now: the same streams present, each with the status and threshold served.
    func mirrorsFleet() throws -> Bool {
        let live = fleet.liveStreams
        return try database().read { db in
            let present = try Row.fetchAll(
                db,
                sql: """
                    SELECT st.job_uid, st.status, json_extract(v.platform_config, '$.Pipeline.Detector.Threshold') AS threshold
                    FROM streams AS st JOIN stream_versions AS v ON v.job_uid = st.job_uid AND v.version = st.current_version
                    WHERE st.gone_at IS NULL
                    """)
            guard present.count == live.count else { return false }
            let byUID = Dictionary(uniqueKeysWithValues: present.map { ($0["job_uid"] as String, $0) })
            return live.allSatisfy { stream in
                guard let row = byUID[stream.jobUID] else { return false }
                return row["status"] as Int == stream.status && row["threshold"] as Int == stream.config.threshold
            }
        }
    }

    func stop() async {
        await server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a harness and always tears it down.
func withHarness<T>(
    streams: Int = 20, seed: UInt64 = 7, options: SimulatorOptions = SimulatorOptions(),
    clock: @escaping @Sendable () -> Date = { Date() }, _ body: (TestHarness) async throws -> T
) async throws -> T {
    let harness = try await TestHarness(streams: streams, seed: seed, options: options, clock: clock)
    do {
        let result = try await body(harness)
        await harness.stop()
        return result
    } catch {
        await harness.stop()
        throw error
    }
}
