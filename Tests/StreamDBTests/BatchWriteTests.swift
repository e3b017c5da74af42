import Foundation
import GRDB
import StreamDBModel
import StreamDBOutput
import StreamDBStore
import StreamSim
import Testing

/// What the write path's shortcuts must not change: a region renamed inside one batch, and
/// output written as it is rendered.
@Suite("Batch writes and streamed output")
struct BatchWriteTests {
    @Test("A region renamed between two streams of one batch ends with the last title, and every document keeps its region rows")
    func regionRenamedInsideABatch() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "h.sqlite").path()
        let fleet = Fleet(size: 4, seed: 12)
        let store = try HistoryStore.openForWriting(path: path)
        let source = try await store.resolveSource(name: "batch", url: "http://batch.invalid")
        // Region 900 is "North", then "North (renamed)", then "North" again, then renamed again,
        // all in one transaction.
        let titles = ["North", "North (renamed)", "North", "North, last"]
        let observations = try zip(fleet.liveStreams, titles).map { stream, title -> StreamObservation in
            guard case .object(var members) = try JSONValue.parse(stream.json) else { throw BatchTestError() }
            members["regions"] = .array([
                .object(["id": .int(900), "title": .string(title)]), .object(["id": .int(901), "title": .string("South")]),
            ])
            return .served(.success(try StreamSnapshot(item: .object(members))), url: "batch")
        }
        let run = try await store.beginRun(source: source, startedAt: Timestamp.format(Date()))
        let outcome = try await store.writeBatch(observations, observedAt: Timestamp.format(Date()), runID: run, sourceID: source.id)
        #expect(outcome.counts.new == 4 && outcome.failures == 0)

        let db = try DatabaseQueue(path: path)
        let regions = try db.read { db in try Row.fetchAll(db, sql: "SELECT id, title FROM regions ORDER BY id") }
        #expect(regions.map { [$0[0] as Int64, $0[1] as String] as [AnyHashable] } == [[900, "North, last"], [901, "South"]])
        // Each stream's payload document names both regions, in order.
        let rows = try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT st.job_uid, group_concat(dr.region_id, ',') FROM streams AS st
                    JOIN (SELECT * FROM document_regions ORDER BY document_id, position) AS dr ON dr.document_id = st.current_rest_id
                    GROUP BY st.job_uid
                    """)
        }
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0[1] as String == "900,901" })
    }

    @Test(
        "A store copies its log into the file on a connection of its own once the log passes 1,000 pages, and closes with every row and an empty log"
    )
    func logCopiedBesideTheWriter() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "h.sqlite").path()
        let fleet = Fleet(size: 1200, seed: 31)
        let store = try HistoryStore.openForWriting(path: path)
        let source = try await store.resolveSource(name: "checkpoint", url: "http://checkpoint.invalid")
        let run = try await store.beginRun(source: source, startedAt: Timestamp.format(Date()))
        let snapshots = try fleet.liveStreams.map { try StreamSnapshot(item: JSONValue.parse($0.json)) }
        // About 4 KiB of pages a new stream: three batches of 400 take the log past 1,000 pages.
        for start in stride(from: 0, to: snapshots.count, by: 400) {
            let batch = snapshots[start..<min(start + 400, snapshots.count)].map { StreamObservation.served(.success($0), url: "c") }
            let outcome = try await store.writeBatch(batch, observedAt: Timestamp.format(Date()), runID: run, sourceID: source.id)
            #expect(outcome.counts.new == batch.count && outcome.failures == 0)
        }
        // The writer's commits do not checkpoint (its WAL hook only reports the log's length):
        // the pages reach the file through the store's own checkpointing connection.
        let deadline = Date().addingTimeInterval(20)
        while store.backgroundCheckpoints == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(store.backgroundCheckpoints >= 1)
        let fileSize = { (name: String) in (try? FileManager.default.attributesOfItem(atPath: name)[.size] as? Int) ?? 0 }
        #expect(fileSize(path) > 1000 * 4096)

        try store.closeAfterSync()
        #expect(fileSize(path + "-wal") == 0)
        let db = try DatabaseQueue(path: path)
        let (versions, spans, check) = try await db.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM versions") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM status_spans") ?? 0,
                try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""
            )
        }
        #expect(versions == snapshots.count && spans == snapshots.count)
        #expect(check == "ok")
    }

    @Test(
        "A report written to a file descriptor as it renders is byte for byte what rendering it whole gives, in every format, past the 64 KiB chunk"
    )
    func streamedOutputMatches() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "streamdb-write-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for rows in [0, 1, 3000] {
            let report = Numbers(rows: rows)
            for format in [OutputFormat.table, .json, .ndjson, .csv] {
                let context = RenderContext(format: format)
                let file = directory.appending(path: "\(rows)-\(format).out").path()
                let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                #expect(descriptor >= 0)
                report.write(context, to: descriptor)
                close(descriptor)
                let written = try String(contentsOfFile: file, encoding: .utf8)
                #expect(written == report.rendered(context), "\(rows) rows as \(format)")
                if rows == 3000 && format != .table { #expect(written.utf8.count > 1 << 16) }
            }
        }
    }
}

private struct BatchTestError: Error {}

/// Rows with quotes, commas, non-ASCII and lists, enough of them to span several chunks.
private struct Numbers: Report {
    let rows: Int
    var reportRows: [Int] { Array(0..<rows) }
    typealias Cell = ResultTable.Cell
    static let columns: [StreamDBOutput.Column<Int>] = [
        StreamDBOutput.Column("n") { row, _ -> Cell in .int(Int64(row)) },
        StreamDBOutput.Column("text") { row, _ -> Cell in .text("row \"\(row)\", naïve ✓ \\ end") },
        StreamDBOutput.Column("list") { row, _ -> Cell in .list(["a\(row)", "b, c"]) },
        StreamDBOutput.Column("share") { row, _ -> Cell in row % 3 == 0 ? .null : .double(Double(row) / 7) },
    ]

}
