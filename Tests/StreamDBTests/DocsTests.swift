import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
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

    /// Each worked query with its PostgreSQL twin: the ```postgresql block that follows it, or
    /// the same text where the two dialects agree.
    static var workedQueries: [(sqlite: String, postgres: String)] {
        var pairs: [(sqlite: String, postgres: String)] = []
        var current: [Substring]?
        var language = ""
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```sql" || trimmed == "```postgresql" {
                current = []
                language = trimmed
            } else if current != nil, trimmed == "```" {
                let text = current!.joined(separator: "\n")
                if language == "```sql" {
                    pairs.append((text, text))
                } else if !pairs.isEmpty {
                    pairs[pairs.count - 1].postgres = text
                }
                current = nil
            } else {
                current?.append(line)
            }
        }
        return pairs
    }

    @Test("The document has its ten worked queries, or more")
    func hasQueries() {
        #expect(Self.queries.count >= 10)
    }

    /// The part of the document about `name`: its `### \`name\`` section, or its table row.
    static func section(about name: String) -> String? {
        let lines = document.split(separator: "\n", omittingEmptySubsequences: false)
        if let start = lines.firstIndex(where: { $0.hasPrefix("### `\(name)`") }) {
            let rest = lines[(start + 1)...]
            let end = rest.firstIndex(where: { $0.hasPrefix("#") }) ?? lines.endIndex
            return lines[start..<end].joined(separator: "\n")
        }
        return lines.first(where: { $0.hasPrefix("| `\(name)` (") }).map(String.init)
    }

    @Test("Every table and view of a migrated database, and each of its columns, is documented where it is described")
    func everyColumnDocumented() async throws {
        try await withHarness(streams: 2) { h in
            try await h.sync()
            let columns = try h.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name
                        """
                ).map { name in
                    (name, try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [name]))
                }
            }
            #expect(columns.count >= 17)
            for (name, names) in columns {
                guard let section = Self.section(about: name) else {
                    Issue.record("docs/schema.md has no section or row for `\(name)`")
                    continue
                }
                let missing = names.filter { !section.contains("`\($0)`") }
                #expect(missing.isEmpty, "docs/schema.md does not describe \(name).\(missing)")
            }
        }
    }

    @Test("Every worked query runs on a synced database")
    func queriesRun() async throws {
        try await withHarness(streams: 60, seed: 3) { h in
            for _ in 0..<4 {
                try await h.sync()
                h.fleet.tick()
            }
            try await h.sync()
            let history = try HistoryReader.open(path: h.databasePath)
            var rowsPerQuery: [Int] = []
            for (index, sql) in Self.queries.enumerated() {
                do {
                    let table = try history.sql(sql)
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

    /// Two cells agree when equal, or when both are numbers within one unit of their last
    /// decimal: a query that measures up to now runs on the file and on the mirror a moment
    /// apart, and a rounded length can turn over in between.
    static func sameCell(_ file: String, _ mirror: String) -> Bool {
        if file == mirror { return true }
        guard let a = Double(file), let b = Double(mirror) else { return false }
        let decimals = [file, mirror].map { $0.split(separator: ".").dropFirst().first?.count ?? 0 }.max() ?? 0
        return abs(a - b) <= pow(10, -Double(decimals)) * 1.000001
    }

    @Test(
        "Every worked query, and its PostgreSQL twin, gives the same rows on the team mirror (a real PostgreSQL) as on the file of the same history",
        .enabled(if: PostgresServer.available, "PostgreSQL's initdb is not installed (Debian's postgresql package; .ci/run installs it)"))
    func workedQueries() async throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try await withHarness(streams: 60, seed: 3) { h in
            let host = MirrorTests.Host(harness: h, source: "minsk")
            // Published after every sync: each publish but the first takes only what is new
            // (new versions through their streams, the spans the mirror holds open, documents
            // used again), and the mirror must still equal the file.
            for round in 0..<5 {
                if round > 0 { h.fleet.tick() }
                if round == 2, let uid = h.fleet.liveStreams.first?.jobUID { _ = h.fleet.replace(uid) }
                try await host.sync()
                let published = try await BuiltProduct.run(["publish", "--to", server.url] + host.db, environment: server.environment)
                #expect(published.status == 0, "\(published.stderr)")
            }
            _ = try await MirrorTests.expectMirrored(h.databasePath, in: server)
            try await MirrorTests.expectNoOrphans(in: server)

            let history = try HistoryReader.open(path: h.databasePath)
            let queries = Self.workedQueries
            #expect(queries.count >= 10)
            #expect(queries.filter { $0.sqlite != $0.postgres }.count >= 7, "the PostgreSQL twins were not found")
            var rowsPerQuery: [Int] = []
            for (index, query) in queries.enumerated() {
                let file = try history.sql(query.sqlite).rows.map { row in
                    row.map { value -> String in
                        switch value {
                        case .null: return ""
                        case .int(let i): return String(i)
                        case .double(let d): return String(d)
                        case .text(let t): return t
                        case .blob(let b): return b.map { String(format: "%02x", $0) }.joined()
                        }
                    }
                }
                let mirror: [[String]]
                do {
                    mirror = try server.query(query.postgres).map {
                        $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
                    }
                } catch {
                    Issue.record("worked query \(index + 1) failed on PostgreSQL: \(error)")
                    continue
                }
                rowsPerQuery.append(file.count)
                let same =
                    file.count == mirror.count
                    && zip(file, mirror).allSatisfy { a, b in a.count == b.count && zip(a, b).allSatisfy(Self.sameCell) }
                #expect(
                    same,
                    "worked query \(index + 1) differs:\nfile:   \(file.prefix(8))\nmirror: \(mirror.prefix(8))")
            }
            // Not vacuous: the fleet-wide queries find rows in a synced, changing fleet.
            #expect(rowsPerQuery.filter { $0 > 0 }.count >= 7, "rows per query: \(rowsPerQuery)")
        }
    }
}
