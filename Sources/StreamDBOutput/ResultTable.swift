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
        switch format {
        case .table: return renderTable(width: width)
        case .json:
            if rows.isEmpty { return "[]\n" }
            return "[\n" + jsonObjects().map { "  " + $0 }.joined(separator: ",\n") + "\n]\n"
        case .ndjson: return jsonObjects().map { $0 + "\n" }.joined()
        case .csv: return ([columns] + rows.map { $0.map(\.text) }).map { $0.map(csvField).joined(separator: ",") + "\r\n" }.joined()
        }
    }

    /// Each row as one JSON object, its members in column order (column names are unique). Written
    /// cell by cell: building a dictionary per row and looking each column up again cost a third of
    /// `events --format ndjson` on 30,000 events.
    private func jsonObjects() -> [String] {
        let keys = columns.map { JSONValue.string($0).canonicalText + ":" }
        return rows.map { row in
            var line = "{"
            for (i, cell) in row.enumerated() {
                if i > 0 { line += "," }
                line += keys[i]
                line += cell.json.canonicalText
            }
            return line + "}"
        }
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Aligned columns. With `width`, text columns are shortened with an ellipsis, the widest
    /// first, until the table fits (numbers stay whole; a uid keeps at least the prefix that tells
    /// it from the others in its column, so it can still be pasted as an argument).
    func renderTable(width: Int? = nil) -> String {
        if rows.isEmpty { return "(no rows)\n" }
        var texts = rows.map { $0.map { $0.text.replacingOccurrences(of: "\n", with: " ") } }
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
