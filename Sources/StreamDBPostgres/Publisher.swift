import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO
import StreamDBModel
import StreamDBStore
import Synchronization

/// What one publish did.
public struct PublishSummary: Sendable {
    /// The file's id in the mirror.
    public let originID: Int
    /// The file's runs this publish added: (runsFrom, runsTo].
    public let runsFrom: Int64
    public let runsTo: Int64
    /// Rows inserted or changed per table, in the order they were sent.
    public let rows: [(table: String, count: Int)]
    /// Text values holding U+0000, which PostgreSQL text cannot: sent as U+FFFD.
    public let replacedNULs: Int
    /// The origin's rows were deleted and its whole history sent again: the file was scrubbed
    /// (`scrub-secrets`) since the last publish.
    public let rebuiltAfterScrub: Bool
    public let seconds: Double

    public var totalRows: Int { rows.reduce(0) { $0 + $1.count } }

    /// One line: "published runs 4-6 of <path> to <target>: 1,234 rows (...) in 0.4 s".
    public func line(path: String, target: PostgresTarget) -> String {
        let what =
            runsTo > runsFrom
            ? (runsTo == runsFrom + 1 ? "run \(runsTo)" : "runs \(runsFrom + 1)-\(runsTo)") : "no new runs"
        let detail = rows.filter { $0.count > 0 }.map { "\($0.table) \($0.count)" }.joined(separator: ", ")
        let nul = replacedNULs > 0 ? "; \(replacedNULs) text values held U+0000, sent as U+FFFD" : ""
        let scrubbed =
            rebuiltAfterScrub
            ? "; the file was scrubbed since the last publish, so its history in the mirror was replaced whole (VACUUM FULL the mirror's tables to rewrite the old rows' space)"
            : ""
        return
            "published \(what) of \(path) to \(target): \(totalRows) rows\(detail.isEmpty ? "" : " (\(detail))") in \(String(format: "%.2f", seconds)) s\(nul)\(scrubbed)."
    }
}

/// `streamdb publish`: copies what is new in one SQLite history into the team mirror, in one
/// PostgreSQL transaction that also moves the origin's high-water marks. A publish stopped at any
/// moment (killed, PostgreSQL restarted) leaves the mirror as the last one left it, and the next
/// one copies exactly what is missing; publishing twice copies nothing the second time.
public enum Publisher {
    /// Rows read from SQLite and sent per COPY chunk.
    static let chunkRows = 4000

    /// - Parameters:
    ///   - holdingSyncLock: the caller holds the database's ``SyncLock`` (`sync --publish-to`);
    ///     otherwise publish takes it, so that no sync writes while it reads (exit 3 when one does).
    public static func publish(
        databasePath: String, to target: PostgresTarget, holdingSyncLock: Bool = false, logger: Logger
    ) async throws -> PublishSummary {
        let started = Date()
        var lock: SyncLock?
        if !holdingSyncLock {
            do {
                lock = try SyncLock(databasePath: databasePath, wait: false)
            } catch let error as StoreError where error.reason == .busy {
                throw PublishError(
                    .busy,
                    "a streamdb sync is writing \(databasePath); publish after it ends (sync --publish-to publishes when its run ends)."
                )
            }
        }
        defer { withExtendedLifetime(lock) {} }
        let store = try HistoryStore.openReadOnly(path: databasePath)
        let (uuid, sourceNames, latest, latestScrub) = try store.readNow { db in
            guard let uuid = try String.fetchOne(db, sql: "SELECT uuid FROM database_identity") else {
                throw PublishError(.usage, "\(databasePath) has no database_identity row; run `streamdb sync` on it once.")
            }
            let names = try String.fetchAll(db, sql: "SELECT name FROM sources ORDER BY name")
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT coalesce(max(id), 0) FROM sync_runs), (SELECT coalesce(max(stream_id), 0) FROM streams),
                           (SELECT coalesce(max(id), 0) FROM documents), (SELECT coalesce(max(id), 0) FROM sync_errors),
                           (SELECT coalesce(max(id), 0) FROM presence_events), (SELECT coalesce(max(id), 0) FROM status_spans)
                    """)!
            let marks = PublishMarks(run: row[0], stream: row[1], document: row[2], error: row[3], presence: row[4], span: row[5])
            // The newest scrub-secrets (migration 0010; a file not yet migrated has had none).
            let scrub = try db.tableExists("scrubs") ? try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM scrubs") ?? 0 : 0
            return (uuid, names, marks, scrub)
        }

        return try await target.withConnection(logger: logger, doing: "publishing \(databasePath)") { connection in
            try await PostgresSchema.migrate(connection, target: target, logger: logger)
            return try await connection.withTransaction(logger: logger) { connection in
                try await publishInTransaction(
                    connection, store: store, uuid: uuid, sourceNames: sourceNames, latest: latest, latestScrub: latestScrub,
                    databasePath: databasePath, target: target, started: started, logger: logger)
            }
        }
    }

    private static func publishInTransaction(
        _ connection: PostgresConnection, store: HistoryStore, uuid: String, sourceNames: [String], latest: PublishMarks,
        latestScrub: Int64, databasePath: String, target: PostgresTarget, started: Date, logger: Logger
    ) async throws -> PublishSummary {
        // One publisher per file and per source at a time; the locks go with the transaction.
        let originKey = "streamdb origin \(uuid)"
        guard try await tryLock(originKey, connection, logger) else {
            throw PublishError(.busy, "another streamdb is publishing \(databasePath) to \(target) right now; this one stops.")
        }
        for name in sourceNames {
            guard try await tryLock("streamdb source \(name)", connection, logger) else {
                throw PublishError(.busy, "another streamdb is publishing the source '\(name)' to \(target) right now; this one stops.")
            }
        }
        let host = ProcessInfo.processInfo.hostName
        let path = URL(fileURLWithPath: databasePath).standardizedFileURL.path
        let rows = try await connection.query(
            """
            INSERT INTO origins (database_uuid, host, path) VALUES (\(uuid), \(host), \(path))
            ON CONFLICT (database_uuid) DO UPDATE SET host = excluded.host, path = excluded.path
            RETURNING id, published_run_id, published_stream_id, published_document_id, published_error_id,
                      published_presence_id, published_span_id, published_scrub_id
            """, logger: logger)
        var origin = 0
        var previous = PublishMarks()
        var previousScrub: Int64 = 0
        for try await (id, run, stream, document, error, presence, span, scrub) in rows.decode(
            (Int, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            origin = id
            previous = PublishMarks(run: run, stream: stream, document: document, error: error, presence: presence, span: span)
            previousScrub = scrub
        }
        // A source of this name published from another file would merge two histories.
        let clashes = try await connection.query(
            """
            SELECT s.name, o.host, o.path FROM sources AS s JOIN origins AS o ON o.id = s.origin_id
            WHERE s.origin_id <> \(origin) AND s.name = ANY(\(sourceNames))
            """, logger: logger)
        for try await (name, otherHost, otherPath) in clashes.decode((String, String, String).self) {
            throw PublishError(
                .conflict,
                "the mirror at \(target) already has a source '\(name)' published from \(otherPath) on \(otherHost); sources are named once across hosts: rename this one (streamdb config) or publish from that host."
            )
        }
        let offset = Int64(origin) << 40
        // A scrub rewrote rows below the marks (and merged documents away): the origin's history
        // is deleted and sent again whole, as by a first publish.
        let rebuild = latestScrub > previousScrub && previous != PublishMarks()
        if rebuild {
            for statement in MirrorTable.deleteOrigin(origin: origin, offset: offset) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            previous = PublishMarks()
        }
        var running: [Int64] = []
        for try await id in try await connection.query(
            "SELECT local_id(id) FROM sync_runs WHERE origin_id = \(origin) AND outcome = 'running'", logger: logger
        ).decode(Int64.self) {
            running.append(id)
        }

        // What an incremental publish reads beyond its marks; a first one (or a rebuild) sends all.
        let first = previous == PublishMarks()
        var openSpans: [Int64] = []
        if !first {
            let open = "SELECT local_id(id) FROM status_spans WHERE ended_us IS NULL AND \(MirrorTable.inOrigin("id", offset: offset))"
            for try await id in try await connection.query(PostgresQuery(unsafeSQL: open), logger: logger).decode(Int64.self) {
                openSpans.append(id)
            }
        }

        var marks: [String: (any DatabaseValueConvertible)?] = [
            "o": offset, "origin": origin, "prev_run": previous.run, "prev_stream": previous.stream,
            "prev_document": previous.document, "prev_error": previous.error, "prev_presence": previous.presence,
            "prev_span": previous.span, "open_spans": "[" + openSpans.map(String.init).joined(separator: ",") + "]",
        ]
        // Read once, used by the versions and the four tables derived from their documents.
        let newVersionStreams =
            first
            ? "[]"
            : try store.readNow { db in
                try String.fetchOne(db, sql: MirrorTable.newVersionStreams, arguments: ["prev_run": previous.run]) ?? "[]"
            }
        marks["new_version_streams"] = newVersionStreams
        var counts: [(String, Int)] = []
        var replaced = 0
        for table in MirrorTable.all(after: previous, runningRuns: running) {
            let (count, nuls) = try await copy(table, from: store, marks: marks, into: connection, logger: logger)
            counts.append((table.name, count))
            replaced += nuls
        }
        let rowsCopied = counts.reduce(0) { $0 + $1.1 }
        try await connection.query(
            """
            UPDATE origins SET last_published_at = now(), published_run_id = \(latest.run),
                published_stream_id = \(latest.stream), published_document_id = \(latest.document),
                published_error_id = \(latest.error), published_presence_id = \(latest.presence),
                published_span_id = \(latest.span), published_scrub_id = \(latestScrub)
            WHERE id = \(origin)
            """, logger: logger)
        let startedAt = started
        try await connection.query(
            """
            INSERT INTO publishes (origin_id, started_at, runs_from, runs_to, rows_copied, streamdb_version)
            VALUES (\(origin), \(startedAt), \(previous.run), \(latest.run), \(rowsCopied), \(StreamDBVersion.current))
            """, logger: logger)
        return PublishSummary(
            originID: origin, runsFrom: previous.run, runsTo: latest.run, rows: counts, replacedNULs: replaced,
            rebuiltAfterScrub: rebuild, seconds: Date().timeIntervalSince(started))
    }

    /// Runs `body`, failing it when the connection closes under it (PostgreSQL stopped or
    /// restarted): a COPY or query in flight is then not always completed by PostgresNIO, and the
    /// publish would wait forever. The work is cancelled, and the error thrown at most 2 s later.
    static func untilClosed<T: Sendable>(
        _ connection: PostgresConnection, target: PostgresTarget, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let work = Task { try await body() }
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            @Sendable func resume(_ result: Result<T, any Error>) {
                if once.first() { continuation.resume(with: result) }
            }
            Task { resume(await work.result) }
            connection.closeFuture.whenComplete { _ in
                work.cancel()
                Task {
                    try? await Task.sleep(for: .seconds(2))
                    resume(
                        .failure(
                            PublishError(
                                .postgres,
                                "PostgreSQL at \(target) closed the connection (stopped or restarted); nothing of this publish was kept, the next one resumes."
                            )))
                }
            }
        }
    }

    private static func tryLock(_ key: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        for try await granted in try await connection.query(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(\(key), 0))", logger: logger
        ).decode(Bool.self) {
            return granted
        }
        return false
    }

    /// Sends `table`'s rows, a chunk at a time, with one COPY; staged first when they may exist.
    private static func copy(
        _ table: MirrorTable, from store: HistoryStore, marks: [String: (any DatabaseValueConvertible)?],
        into connection: PostgresConnection, logger: Logger
    ) async throws -> (rows: Int, nuls: Int) {
        var destination = table.name
        if table.conflict != .none {
            destination = "stage_\(table.name)"
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(destination) (LIKE \(table.name)) ON COMMIT DROP"), logger: logger)
        }
        var total = 0
        var nuls = 0
        let textBlobs = table.textBlobs
        try await connection.copyFrom(table: destination, columns: table.columns, logger: logger) { writer in
            var after: [DatabaseValue]? = nil
            while true {
                let (text, count, last) = try store.readNow { db -> (CopyText, Int, [DatabaseValue]?) in
                    var named = marks
                    for (index, value) in (after ?? []).enumerated() { named["k\(index)"] = value }
                    let statement = try db.cachedStatement(sql: table.chunkQuery(after: after != nil, limit: chunkRows))
                    var text = CopyText(capacity: 1 << 20)
                    var count = 0
                    var last: [DatabaseValue]?
                    let rows = try Row.fetchCursor(statement, arguments: StatementArguments(named))
                    while let row = try rows.next() {
                        text.append(row, count: table.columns.count, textBlobs: textBlobs)
                        count += 1
                        if count == chunkRows {
                            last = (table.columns.count..<(table.columns.count + table.key.count)).map { row[$0] as DatabaseValue }
                        }
                    }
                    return (text, count, last)
                }
                if count > 0 { try await writer.write(text.buffer) }
                total += count
                nuls += text.replacedNULs
                guard let last else { break }
                after = last
            }
        }
        if table.conflict != .none {
            guard total > 0 else { return (0, nuls) }
            total = 0
            for try await count in try await connection.query(PostgresQuery(unsafeSQL: table.mergeStatement), logger: logger)
                .decode(Int.self)
            {
                total = count
            }
        }
        return (total, nuls)
    }
}

extension PostgresTarget {
    /// Connects, runs `body` until it ends or the connection closes under it
    /// (``Publisher/untilClosed(_:target:_:)``), and closes; every failure becomes one
    /// ``PublishError`` sentence naming `step`.
    func withConnection<T: Sendable>(
        logger: Logger, doing step: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try configuration(), id: 1, logger: logger)
        } catch {
            throw PublishError.translating(error, target: self, doing: "connecting")
        }
        do {
            let result = try await Publisher.untilClosed(connection, target: self) { try await body(connection) }
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw PublishError.translating(error, target: self, doing: step)
        }
    }
}

/// True the first time only, from any thread.
private final class Once: Sendable {
    private let done = Mutex(false)

    func first() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
