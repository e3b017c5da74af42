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
            case .list(let items): return .array(items.map(JSONValue.string))
            case .counts(let counts):
                return .object(Dictionary(counts.map { ($0.name, JSONValue.int($0.value)) }, uniquingKeysWith: { a, _ in a }))
            }
        }

        /// Whether the table aligns it to the right.
        var isNumeric: Bool {
            switch self {
            case .int, .double, .null: return true
            case .text, .list, .counts: return false
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
    public func rendered(as format: OutputFormat) -> String {
        switch format {
        case .table: return renderTable()
        case .json:
            if rows.isEmpty { return "[]\n" }
            return "[\n" + rows.map { "  " + object($0).canonicalTextInColumnOrder(columns) }.joined(separator: ",\n") + "\n]\n"
        case .ndjson: return rows.map { object($0).canonicalTextInColumnOrder(columns) + "\n" }.joined()
        case .csv: return ([columns] + rows.map { $0.map(\.text) }).map { $0.map(csvField).joined(separator: ",") + "\r\n" }.joined()
        }
    }

    private func object(_ row: [Cell]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json))))
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func renderTable() -> String {
        if rows.isEmpty { return "(no rows)\n" }
        let texts = rows.map { $0.map { $0.text.replacingOccurrences(of: "\n", with: " ") } }
        var widths = columns.map(\.count)
        for row in texts {
            for (i, text) in row.enumerated() { widths[i] = max(widths[i], text.count) }
        }
        let numeric = columns.indices.map { i in rows.allSatisfy { $0[i].isNumeric } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, text in
                let pad = String(repeating: " ", count: widths[i] - text.count)
                return numeric[i] ? pad + text : text + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = line(columns) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in texts { out += line(row) + "\n" }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
