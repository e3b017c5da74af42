import Foundation
import Logging
import PostgresNIO

/// The mirror's schema: `migrations/postgres/*.sql`, compiled into the binary, applied in name
/// order, each once and in its own transaction, as the SQLite schema is. A mirror that holds a
/// migration this binary does not know was written by a newer streamdb and is refused untouched.
enum PostgresSchema {
    /// The migrations this binary carries, by name.
    static var names: [String] { EmbeddedMigrations.all.map(\.name) }

    /// Brings the mirror to this binary's schema.
    static func migrate(_ connection: PostgresConnection, target: PostgresTarget, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            // One migrating publisher at a time; the others wait here, then find nothing to do.
            try await connection.query("SELECT pg_advisory_xact_lock(7283946510001)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS streamdb_migrations (
                    identifier text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let applied = try await self.applied(connection, logger: logger) ?? []
            let unknown = applied.subtracting(names).sorted()
            if !unknown.isEmpty {
                throw PublishError(
                    .conflict,
                    "the mirror at \(target) was migrated by a newer streamdb (\(unknown.joined(separator: ", "))); publish with that version or newer."
                )
            }
            for migration in EmbeddedMigrations.all where !applied.contains(migration.name) {
                logger.info("applying PostgreSQL migration \(migration.name)")
                for statement in statements(of: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO streamdb_migrations (identifier) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    /// The migrations the mirror holds, or nil when it has no `streamdb_migrations` (no mirror
    /// was ever published there).
    static func applied(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String>? {
        var applied: Set<String> = []
        do {
            for try await name in try await connection.query("SELECT identifier FROM streamdb_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
            return nil
        }
        return applied
    }

    /// The statements of a script, split at the semicolons outside quotes, comments and
    /// dollar-quoted bodies (PostgreSQL's extended protocol takes one statement at a time).
    static func statements(of script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let characters = Array(script)
        var index = 0
        func flush() {
            let text = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { statements.append(text) }
            current = ""
        }
        while index < characters.count {
            let character = characters[index]
            if character == "-" && index + 1 < characters.count && characters[index + 1] == "-" {
                while index < characters.count && characters[index] != "\n" { index += 1 }
                continue
            }
            if character == "'" || character == "\"" {
                current.append(character)
                index += 1
                while index < characters.count {
                    current.append(characters[index])
                    if characters[index] == character {
                        if index + 1 < characters.count && characters[index + 1] == character {
                            current.append(character)
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            }
            if character == "$", let close = characters[(index + 1)...].firstIndex(of: "$"),
                characters[(index + 1)..<close].allSatisfy({ $0.isLetter || $0 == "_" })
            {
                let tag = Array(characters[index...close])
                current.append(contentsOf: tag)
                index = close + 1
                while index < characters.count {
                    if characters[index] == "$" && index + tag.count <= characters.count
                        && Array(characters[index..<(index + tag.count)]) == tag
                    {
                        current.append(contentsOf: tag)
                        index += tag.count
                        break
                    }
                    current.append(characters[index])
                    index += 1
                }
                continue
            }
            if character == ";" {
                flush()
            } else {
                current.append(character)
            }
            index += 1
        }
        flush()
        return statements
    }
}

/// One migration compiled into the binary from `migrations/postgres/NAME.sql`.
struct EmbeddedMigration: Sendable {
    let name: String
    let sql: String
}
