import Foundation
import GRDB
import GRDBSQLite

/// One of the sync writer's prepared statements, its arguments bound straight to SQLite.
///
/// A first sync runs about fifteen statements per new stream on the writer's one connection,
/// and GRDB's `execute(arguments:)` boxes each argument as an existential, gathers them into
/// arrays and binds them through nested closures; in a profile that was about a third of the
/// writer thread, beside SQLite's own work (bench/ANALYSIS.md). The writer binds its values
/// itself here, one typed call per placeholder, in order.
///
/// Values are bound as GRDB binds them, so that what the writer stores is what GRDB's queries
/// elsewhere find: text up to its first U+0000 (GRDB binds a `String` as a C string), blobs whole,
/// a nil as NULL. Every use resets the statement and clears its bindings, so no statement is
/// left busy between uses. A failing step throws the `DatabaseError` GRDB would throw (its result
/// code and SQLite's message), which is how a batch tells a stream's failure from the file's.
struct WriteStatement {
    private let statement: Statement
    private let connection: SQLiteConnection?

    /// Prepares (or takes from the connection's cache) the statement for `sql`.
    init(_ sql: String, in db: Database) throws {
        statement = try db.cachedStatement(sql: sql)
        connection = db.sqliteConnection
    }

    /// Binds the arguments `bind` gives, steps the statement to its end and resets it.
    func execute(_ bind: (inout Arguments) throws -> Void) throws {
        try run(bind) { _ in () }
    }

    /// Binds the arguments, steps once, and reads the first column of the first row as an
    /// integer (nil when there is no row or it is NULL).
    func fetchInt64(_ bind: (inout Arguments) throws -> Void) throws -> Int64? {
        try fetchRow(binding: bind, read: { row in row.isNull(0) ? nil : row.int64(0) }) ?? nil
    }

    /// Binds the arguments, steps once, and reads the row with `read` (nil when there is no row).
    func fetchRow<T>(binding bind: (inout Arguments) throws -> Void, read: (ResultRow) throws -> T) throws -> T? {
        try run(bind) { sqlite in
            // A statement with RETURNING or a SELECT: the first row only, then reset.
            try read(ResultRow(sqlite: sqlite))
        }
    }

    /// Binds the arguments and reads every row with `read`, in order.
    func forEachRow(binding bind: (inout Arguments) throws -> Void, _ read: (ResultRow) throws -> Void) throws {
        try bound(bind) { sqlite in
            while true {
                switch sqlite3_step(sqlite) {
                case SQLITE_ROW: try read(ResultRow(sqlite: sqlite))
                case SQLITE_DONE: return
                case let code: throw error(code)
                }
            }
        }
    }

    private func run<T>(_ bind: (inout Arguments) throws -> Void, row: (SQLiteStatement) throws -> T) throws -> T? {
        try bound(bind) { sqlite in
            switch sqlite3_step(sqlite) {
            case SQLITE_DONE:
                return nil
            case SQLITE_ROW:
                let value = try row(sqlite)
                // The rest of the rows, for a statement whose steps have effects (RETURNING).
                while true {
                    switch sqlite3_step(sqlite) {
                    case SQLITE_ROW: continue
                    case SQLITE_DONE: return value
                    case let code: throw error(code)
                    }
                }
            case let code:
                throw error(code)
            }
        }
    }

    /// Binds the arguments and runs `body` on the statement, which is reset and its bindings
    /// cleared afterwards, whatever `body` did.
    private func bound<T>(_ bind: (inout Arguments) throws -> Void, _ body: (SQLiteStatement) throws -> T) throws -> T {
        let sqlite = statement.sqliteStatement
        defer {
            sqlite3_reset(sqlite)
            sqlite3_clear_bindings(sqlite)
        }
        var arguments = Arguments(sqlite: sqlite)
        try bind(&arguments)
        if let failure = arguments.failure { throw error(failure) }
        return try body(sqlite)
    }

    private func error(_ code: CInt) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }

    /// The values of one execution, bound in the order of the statement's placeholders.
    struct Arguments {
        fileprivate let sqlite: SQLiteStatement
        private var index: CInt = 0
        /// The first binding SQLite refused (too big, out of memory): thrown before stepping.
        fileprivate var failure: CInt?

        fileprivate init(sqlite: SQLiteStatement) { self.sqlite = sqlite }

        private mutating func next() -> CInt {
            index += 1
            return index
        }

        private mutating func check(_ code: CInt) {
            if code != SQLITE_OK, failure == nil { failure = code }
        }

        mutating func bind(_ value: Int64) { check(sqlite3_bind_int64(sqlite, next(), value)) }

        mutating func bind(_ value: Int) { bind(Int64(value)) }

        mutating func bind(_ value: Int64?) {
            if let value { bind(value) } else { bindNull() }
        }

        mutating func bind(_ value: Int?) { bind(value.map(Int64.init)) }

        mutating func bindNull() { check(sqlite3_bind_null(sqlite, next())) }

        /// Text, up to its first U+0000, as GRDB binds a `String`.
        mutating func bind(_ value: String?) {
            guard var value else { return bindNull() }
            let position = next()
            let code = value.withUTF8 { (text: UnsafeBufferPointer<UInt8>) -> CInt in
                bindText(text, at: position)
            }
            check(code)
        }

        private func bindText(_ text: UnsafeBufferPointer<UInt8>, at position: CInt) -> CInt {
            guard let start = text.baseAddress, !text.isEmpty else {
                return sqlite3_bind_text(sqlite, position, "", 0, transient)
            }
            var length = text.count
            if let nul = memchr(start, 0, text.count) {
                length = UnsafeRawPointer(nul) - UnsafeRawPointer(start)
            }
            // SQLITE_TRANSIENT: SQLite copies the text before this returns.
            let chars = UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self)
            return sqlite3_bind_text(sqlite, position, chars, CInt(length), transient)
        }

        /// Bytes, whole, as a blob (an empty one is a zero-length blob, not NULL).
        mutating func bind(blob value: (some ContiguousBytes)?) {
            guard let value else { return bindNull() }
            let position = next()
            check(
                value.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(sqlite, position, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), CInt(bytes.count), transient)
                })
        }

        /// A value read from the database (a stream's status: an integer or text, as served).
        mutating func bind(_ value: DatabaseValue) {
            switch value.storage {
            case .null: bindNull()
            case .int64(let int): bind(int)
            case .double(let double): check(sqlite3_bind_double(sqlite, next(), double))
            case .string(let string): bind(string)
            case .blob(let data): bind(blob: data)
            }
        }
    }

    /// The current row of a stepped statement.
    struct ResultRow {
        fileprivate let sqlite: SQLiteStatement

        func isNull(_ column: CInt) -> Bool { sqlite3_column_type(sqlite, column) == SQLITE_NULL }

        func int64(_ column: CInt) -> Int64 { sqlite3_column_int64(sqlite, column) }

        func string(_ column: CInt) -> String? {
            guard !isNull(column), let text = sqlite3_column_text(sqlite, column) else { return nil }
            // Up to the first U+0000, as GRDB reads text.
            return String(cString: text)
        }

        func value(_ column: CInt) -> DatabaseValue { DatabaseValue(sqliteStatement: sqlite, index: column) }
    }
}

/// SQLite's SQLITE_TRANSIENT (a macro Swift does not import): copy the value while binding.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
