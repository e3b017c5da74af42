import Foundation
import StreamDBModel

/// Rows and named columns of text, numbers and nulls: the shape every query command prints,
/// whatever the format. Built from a typed query result by its ``Report`` (`Report.swift`), which
/// has already applied the labels, the time zone and the format's way of writing times.
public struct ResultTable: Sendable {
    public enum Cell: Sendable, Equatable {
        case null
        case int(Int64)
        case double(Double)
        case text(String)
        /// true or false in JSON; `yes` or empty in a table, `true`/`false` in CSV.
        case bool(Bool)
        /// A JSON array of strings; `a, b` in a table or CSV.
        case list([String])
        /// A JSON object of counts (`{"WORKING": 23}`); `WORKING: 23, DOWN: 4` in a table or CSV,
        /// in the order given.
        case counts([Count])

        /// The cell as table (and CSV) text.
        public var text: String {
            switch self {
            case .null: return ""
            case .int(let i): return String(i)
            case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
            case .text(let s): return s
            case .bool(let b): return b ? "true" : "false"
            case .list(let items): return items.joined(separator: ", ")
            case .counts(let counts): return counts.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
            }
        }

        var json: JSONValue {
            switch self {
            case .null: return .null
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .text(let s): return .string(s)
            case .bool(let b): return .bool(b)
            case .list(let items): return .array(items.map(JSONValue.string))
            case .counts(let counts):
                return .object(Dictionary(counts.map { ($0.name, JSONValue.int($0.value)) }, uniquingKeysWith: { a, _ in a }))
            }
        }

        /// Whether the table aligns it to the right.
        var isNumeric: Bool {
            switch self {
            case .int, .double, .null: return true
            case .text, .bool, .list, .counts: return false
            }
        }
    }

    /// One entry of a ``Cell/counts(_:)`` cell.
    public struct Count: Sendable, Equatable {
        public let name: String
        public let value: Int64

        public init(_ name: String, _ value: Int64) {
            self.name = name
            self.value = value
        }
    }

    public var columns: [String]
    public var rows: [[Cell]]

    public init(columns: [String], rows: [[Cell]] = []) {
        self.columns = columns
        self.rows = rows
    }
}

/// How a query command prints its result.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people.
    case table
    /// One JSON document: an array of objects.
    case json
    /// One JSON object a line.
    case ndjson
    /// RFC 4180: a header row, fields quoted where needed, CRLF line ends.
    case csv
}

extension ResultTable {
    /// The table in `format`; `width` (a terminal's, for the table format) shortens text columns.
    public func rendered(as format: OutputFormat, width: Int? = nil) -> String {
        guard format != .table else { return renderTable(width: width) }
        var writer = RowWriter(columns: columns, format: format, rows: rows.count)
        for row in rows { writer.append(row) }
        return writer.finish()
    }

    /// Writes rows one at a time in a format for programs (JSON, NDJSON, CSV) into one buffer, so
    /// that a report of many rows is never held twice: building a dictionary per row and looking
    /// each column up again cost a third of `events --format ndjson` on 30,000 events, a string per
    /// row another fifth.
    ///
    /// With a sink, the buffer is handed to it whenever it holds ``chunk`` bytes and emptied, so
    /// the output is written as it is made and never held whole (5 MB of JSON lines for a day of
    /// events cost more in fresh pages than in writing them).
    struct RowWriter {
        let format: OutputFormat
        /// Each column's `"name":` for JSON.
        private let keys: [[UInt8]]
        private var out: [UInt8] = []
        private var count = 0
        private let sink: ((UnsafeBufferPointer<UInt8>) -> Void)?
        static let chunk = 1 << 16

        init(columns: [String], format: OutputFormat, rows: Int, sink: ((UnsafeBufferPointer<UInt8>) -> Void)? = nil) {
            precondition(format != .table, "the table format aligns columns over every row")
            self.format = format
            self.sink = sink
            keys = columns.map { Array((JSONValue.string($0).canonicalText + ":").utf8) }
            out.reserveCapacity(sink == nil ? min(rows, 1 << 20) * 32 * max(1, columns.count) : 2 * Self.chunk)
            if format == .csv { appendCSVLine(columns.map(ResultTable.Cell.text)) }
        }

        /// Hands what is buffered to the sink once there is enough of it (or `force`).
        private mutating func drain(force: Bool = false) {
            guard let sink, out.count >= Self.chunk || (force && !out.isEmpty) else { return }
            out.withUnsafeBufferPointer(sink)
            out.removeAll(keepingCapacity: true)
        }

        mutating func append(_ row: [Cell]) {
            switch format {
            case .table: break
            case .json: out.append(contentsOf: (count == 0 ? "[\n  " : ",\n  ").utf8)
            case .ndjson: break
            case .csv:
                appendCSVLine(row)
                count += 1
                drain()
                return
            }
            out.append(UInt8(ascii: "{"))
            for (i, cell) in row.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: keys[i])
                appendJSON(cell)
            }
            out.append(UInt8(ascii: "}"))
            if format == .ndjson { out.append(UInt8(ascii: "\n")) }
            count += 1
            drain()
        }

        /// A cell as JSON: the common cells straight into the buffer, without a JSONValue.
        private mutating func appendJSON(_ cell: Cell) {
            switch cell {
            case .null: out.append(contentsOf: "null".utf8)
            case .text(let s): JSONValue.appendCanonical(string: s, to: &out)
            case .list(let items):
                out.append(UInt8(ascii: "["))
                for (index, item) in items.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    JSONValue.appendCanonical(string: item, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            case .int, .double, .bool, .counts: cell.json.appendCanonical(to: &out)
            }
        }

        /// RFC 4180: fields quoted where needed, CRLF line ends.
        private mutating func appendCSVLine(_ row: [Cell]) {
            for (i, cell) in row.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                let text = cell.text
                if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
                    out.append(contentsOf: ("\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"").utf8)
                } else {
                    out.append(contentsOf: text.utf8)
                }
            }
            out.append(contentsOf: "\r\n".utf8)
        }

        /// What closes the output: the end of the JSON array (all of it when there were no rows).
        private var closing: String {
            guard format == .json else { return "" }
            return count == 0 ? "[]\n" : "\n]\n"
        }

        /// Everything written, closed.
        func finish() -> String {
            String(decoding: out + closing.utf8, as: UTF8.self)
        }

        /// Closes the output and hands the rest to the sink.
        mutating func finishToSink() {
            out.append(contentsOf: closing.utf8)
            drain(force: true)
        }
    }

    /// Aligned columns. With `width`, text columns are shortened with an ellipsis, the widest
    /// first, until the table fits (numbers stay whole; a uid keeps at least the prefix that tells
    /// it from the others in its column, so it can still be pasted as an argument).
    func renderTable(width: Int? = nil) -> String {
        if rows.isEmpty { return "(no rows)\n" }
        var texts = rows.map { $0.map { Self.oneLine($0.text) } }
        var widths = columns.map(\.count)
        for row in texts {
            for (i, text) in row.enumerated() { widths[i] = max(widths[i], text.count) }
        }
        let numeric = columns.indices.map { i in rows.allSatisfy { $0[i].isNumeric } }
        if let width {
            let limits = fit(widths: widths, numeric: numeric, into: width, texts: texts)
            for i in columns.indices where limits[i] < widths[i] {
                widths[i] = limits[i]
                for r in texts.indices where texts[r][i].count > limits[i] {
                    texts[r][i] = String(texts[r][i].prefix(limits[i] - 1)) + "…"
                }
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, text in
                let pad = String(repeating: " ", count: max(0, widths[i] - text.count))
                return numeric[i] ? pad + text : text + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = line(columns.enumerated().map { i, name in name.count > widths[i] ? String(name.prefix(widths[i])) : name }) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in texts { out += line(row) + "\n" }
        return out
    }

    /// The widths that fit `total` columns: the widest text column loses a column at a time, down
    /// to its floor (its heading's first letters, or a uid's distinguishing prefix plus the
    /// ellipsis); when every column is at its floor the table is as narrow as it gets.
    private func fit(widths: [Int], numeric: [Bool], into total: Int, texts: [[String]]) -> [Int] {
        var limits = widths
        let floors = columns.indices.map { i -> Int in
            if numeric[i] { return widths[i] }
            let values = texts.map { $0[i] }
            if values.allSatisfy({ JobUID.normalized($0) != nil }) { return Self.uniquePrefix(values) + 1 }
            // Times stay whole, like numbers: a cut one could not be read or pasted back.
            if values.allSatisfy({ $0.isEmpty || $0 == "now" || TimeInput.parse($0) != nil }) { return widths[i] }
            return min(widths[i], max(6, min(columns[i].count, 12)))
        }
        func used() -> Int { limits.reduce(0, +) + 2 * (limits.count - 1) }
        while used() > total {
            guard let widest = limits.indices.filter({ limits[$0] > floors[$0] }).max(by: { limits[$0] < limits[$1] }) else { break }
            limits[widest] -= 1
        }
        return limits
    }

    /// A cell's text on one line: new lines become spaces (most cells have none).
    static func oneLine(_ text: String) -> String {
        guard text.utf8Contains(UInt8(ascii: "\n")) else { return text }
        return String(decoding: text.utf8.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// The length of the shortest prefix that tells each value from the others (at least 8).
    static func uniquePrefix(_ values: [String]) -> Int {
        let sorted = Set(values).sorted()
        var length = 8
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            let common = zip(a, b).prefix { $0 == $1 }.count
            length = max(length, common + 1)
        }
        return length
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
