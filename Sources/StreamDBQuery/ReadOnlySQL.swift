import Foundation
import GRDB
import GRDBSQLite

/// `streamdb sql`: an analyst's query, run on a read-only connection.
///
/// The connection is opened read-only and put in `PRAGMA query_only`, so a statement that writes
/// fails before it changes anything (https://sqlite.org/pragma.html#pragma_query_only). ATTACH is
/// disabled by allowing no attached databases (https://sqlite.org/c3ref/limit.html), so a query
/// cannot reach another file; loading extensions is off, as SQLite ships it.
public struct SQLResult: Sendable {
    /// One value as SQLite returned it.
    public enum Value: Sendable, Equatable {
        case null
        case int(Int64)
        case double(Double)
        case text(String)
        case blob(Data)
    }

    public let columns: [String]
    public let rows: [[Value]]

    static func run(_ sql: String, in db: Database) throws -> SQLResult {
        try db.execute(sql: "PRAGMA query_only = 1")
        sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_ATTACHED, 0)
        let statement: Statement
        do {
            statement = try db.makeStatement(sql: sql)
        } catch let error as DatabaseError {
            let message = error.message ?? "\(error)"
            if message.hasPrefix("Multiple statements") {
                throw QueryError("streamdb sql runs one statement at a time; this text holds several (run each on its own).")
            }
            throw QueryError("the SQL does not compile: \(message).")
        }
        guard statement.isReadonly else {
            throw QueryError("streamdb sql only reads: this statement would write, and the database is unchanged.")
        }
        var rows: [[Value]] = []
        do {
            let cursor = try Row.fetchCursor(statement)
            while let row = try cursor.next() {
                rows.append(
                    row.databaseValues.map { value in
                        switch value.storage {
                        case .null: return .null
                        case .int64(let i): return .int(i)
                        case .double(let d): return .double(d)
                        case .string(let s): return .text(s)
                        case .blob(let b): return .blob(b)
                        }
                    })
            }
        } catch let error as DatabaseError {
            // The file itself is damaged or unreadable: the store's sentence says so, not "the query".
            if [.SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_IOERR, .SQLITE_CANTOPEN].contains(error.resultCode) { throw error }
            let message = error.message ?? "\(error)"
            if message.contains("too many attached databases") {
                throw QueryError("streamdb sql reads only this history: ATTACH of another database is not allowed.")
            }
            throw QueryError("the query failed: \(message).")
        }
        return SQLResult(columns: statement.columnNames, rows: rows)
    }
}
