import Foundation
import GRDB
import StreamDBModel

/// What a sync learned about one stream, to be written with others in one transaction.
public enum StreamObservation: Sendable {
    /// Served and normalised (or rejected by normalisation), from `url`.
    case served(Result<StreamSnapshot, SnapshotRejection>, url: String)
    /// Served exactly as last time (see ``ServedDigest``).
    case servedUnchanged(UnchangedStream, url: String)
    /// The detail route answered 404.
    case notFound(jobUID: String, url: String)
    /// The request failed; the entry says how.
    case failed(SyncErrorEntry)
}

/// What writing a batch did: the stream counts, and how many of its observations failed.
public struct BatchOutcome: Sendable {
    public var counts = SyncCounts()
    /// Observations that could not be fetched, normalised or stored (each has a `sync_errors` row).
    public var failures = 0

    public init() {}

    mutating func add(_ result: RecordResult) {
        counts.seen += 1
        switch result.change {
        case .new: counts.new += 1
        case .changed: counts.changed += 1
        case .unchanged: counts.unchanged += 1
        }
        if result.back { counts.back += 1 }
    }

    /// A stream served exactly as last time, recorded by the shortcut (no version read).
    mutating func addUnchanged() {
        counts.seen += 1
        counts.unchanged += 1
    }
}

extension HistoryStore {
    /// Writes a batch of observations in one transaction, as a sync does with every thousand
    /// streams.
    ///
    /// A stream that cannot be stored (a constraint, a value SQLite refuses) is recorded as an
    /// error without losing the others: the batch is first written straight through, and only
    /// when a statement fails is it rolled back and written again with each stream in its own
    /// savepoint. Savepoints cost a pair of statements and a statement journal per stream, which
    /// a batch that stores cleanly does not need. A full disk or an I/O error ends the batch: it
    /// is about the file, not the stream.
    public func writeBatch(
        _ observations: [StreamObservation], observedAt: String, runID: Int64, sourceID: Int64
    ) async throws -> BatchOutcome {
        guard !observations.isEmpty else { return BatchOutcome() }
        do {
            // A transaction of its own, so that no savepoint (and no statement journal) is needed
            // to undo it.
            return try await database.write { db in
                try Self.write(observations, observedAt: observedAt, runID: runID, sourceID: sourceID, perStream: false, in: db)
            }
        } catch let error as DatabaseError where Self.isStreamLevel(error) {
            do {
                return try await database.write { db in
                    try Self.write(observations, observedAt: observedAt, runID: runID, sourceID: sourceID, perStream: true, in: db)
                }
            } catch {
                throw Self.translate(error, path: path)
            }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Whether a failed statement is about the stream being stored, not the file.
    private static func isStreamLevel(_ error: DatabaseError) -> Bool {
        error.resultCode != .SQLITE_FULL && error.resultCode != .SQLITE_IOERR
    }

    /// Writes a batch inside the caller's transaction. With `perStream`, each stream is stored in
    /// a savepoint and a stream-level failure is recorded as that stream's error; without, the
    /// first failure is thrown.
    private static func write(
        _ observations: [StreamObservation], observedAt: String, runID: Int64, sourceID: Int64, perStream: Bool, in db: Database
    ) throws -> BatchOutcome {
        var batch = try BatchWriter(db: db, observedAt: observedAt, runID: runID, sourceID: sourceID, perStream: perStream)
        for observation in observations {
            try batch.write(observation)
        }
        return batch.outcome
    }
}

/// The writing of one batch, inside its transaction.
private struct BatchWriter {
    let db: Database
    let observedAt: String
    let runID: Int64
    let sourceID: Int64
    let perStream: Bool
    var outcome = BatchOutcome()
    private let statements: RecordStatements

    init(db: Database, observedAt: String, runID: Int64, sourceID: Int64, perStream: Bool) throws {
        self.db = db
        self.observedAt = observedAt
        self.runID = runID
        self.sourceID = sourceID
        self.perStream = perStream
        // Straight through only: a stream's savepoint may roll the regions it wrote back.
        self.statements = try RecordStatements(db, regions: perStream ? nil : WrittenRegions())
    }

    mutating func write(_ observation: StreamObservation) throws {
        switch observation {
        case .served(let result, let url):
            try served(result, url: url)
        case .servedUnchanged(let stream, let url):
            if try HistoryStore.recordUnchanged(stream, observedAt: observedAt, runID: runID, sourceID: sourceID, in: statements) {
                outcome.addUnchanged()
            } else {
                // Gone or recorded anew since the run began: the shortcut does not apply.
                try served(stream.snapshot(), url: url)
            }
        case .notFound(let uid, let url):
            if try HistoryStore.markGone(jobUID: uid, observedAt: observedAt, runID: runID, sourceID: sourceID, in: db) {
                outcome.counts.gone += 1
            } else if let other = try HistoryStore.otherSource(of: uid, than: sourceID, in: db) {
                // Another source's stream is not this one's to mark gone.
                try fail(
                    SyncErrorEntry(
                        jobUID: uid, kind: .http(404), httpStatus: 404, url: url, attempts: 1,
                        message:
                            "this server has no stream with this job_uid; it belongs to the source '\(other)', whose history is untouched.")
                )
            } else if try !HistoryStore.isKnown(uid, in: db) {
                try fail(
                    SyncErrorEntry(
                        jobUID: uid, kind: .http(404), httpStatus: 404, url: url, attempts: 1,
                        message: "the server has no stream with this job_uid."))
            }
        case .failed(let entry):
            try fail(entry)
        }
    }

    private mutating func fail(_ entry: SyncErrorEntry) throws {
        outcome.failures += 1
        try HistoryStore.recordError(entry, runID: runID, in: db)
    }

    /// A normalised stream is stored; a rejected one is recorded as an error.
    private mutating func served(_ result: Result<StreamSnapshot, SnapshotRejection>, url: String) throws {
        switch result {
        case .success(let snapshot):
            try store(snapshot, url: url)
        case .failure(let rejection):
            try fail(SyncErrorEntry(jobUID: rejection.jobUID, kind: rejection.kind, url: url, message: rejection.message))
        }
    }

    private mutating func store(_ snapshot: StreamSnapshot, url: String) throws {
        guard perStream else {
            try recorded(
                HistoryStore.record(snapshot, observedAt: observedAt, runID: runID, sourceID: sourceID, in: statements),
                snapshot, url: url)
            return
        }
        do {
            var attempt: RecordAttempt?
            let (db, observedAt, runID, sourceID, statements) = (self.db, self.observedAt, self.runID, self.sourceID, self.statements)
            try db.inSavepoint {
                attempt = try HistoryStore.record(snapshot, observedAt: observedAt, runID: runID, sourceID: sourceID, in: statements)
                return .commit
            }
            if let attempt { try recorded(attempt, snapshot, url: url) }
        } catch let error as DatabaseError where error.resultCode != .SQLITE_FULL && error.resultCode != .SQLITE_IOERR {
            try fail(
                SyncErrorEntry(
                    jobUID: snapshot.jobUID, kind: .storage, url: url,
                    message: "could not be stored: \(error.message ?? "\(error)")"))
        }
    }

    private mutating func recorded(_ attempt: RecordAttempt, _ snapshot: StreamSnapshot, url: String) throws {
        switch attempt {
        case .recorded(let result):
            outcome.add(result)
        case .otherSource(let other):
            try fail(
                SyncErrorEntry(
                    jobUID: snapshot.jobUID, kind: .sourceConflict, url: url,
                    message:
                        "this job_uid is served by this source and by '\(other)', which served it first; it stays with '\(other)' and nothing of this copy was stored."
                ))
        }
    }
}
