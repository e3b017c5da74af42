import Foundation
import StreamDB
import StreamSim
import Testing

/// Every worked query in docs/schema.md runs against a synced database, so the document cannot
/// go stale.
@Suite("docs/schema.md")
struct DocsTests {
    static let document = try! String(
        contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appending(path: "docs/schema.md"),
        encoding: .utf8)

    /// The ```sql blocks of the document, in order.
    static var queries: [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```sql" {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test("The document has its ten worked queries, or more")
    func hasQueries() {
        #expect(Self.queries.count >= 10)
    }

    @Test("Every worked query runs on a synced database")
    func queriesRun() async throws {
        try await withHarness(streams: 60, seed: 3) { h in
            for _ in 0..<4 {
                try await h.sync()
                h.fleet.tick()
            }
            try await h.sync()
            let store = try HistoryStore.openReadOnly(path: h.databasePath)
            var rowsPerQuery: [Int] = []
            for (index, sql) in Self.queries.enumerated() {
                do {
                    let table = try store.readNow { db in try ReadOnlySQL.run(sql, in: db) }
                    rowsPerQuery.append(table.rows.count)
                } catch {
                    Issue.record("worked query \(index + 1) failed: \(error)")
                }
            }
            // The fleet-wide ones must find something in a synced, changing fleet.
            #expect(rowsPerQuery.count == Self.queries.count)
            #expect(rowsPerQuery.filter { $0 > 0 }.count >= 7, "rows per query: \(rowsPerQuery)")
        }
    }
}
