import Foundation

/// Rows and named columns, the shape every query command prints, whatever the format.
public struct ResultTable: Sendable {
    public enum Cell: Sendable, Equatable {
        case null
        case int(Int64)
        case double(Double)
        case text(String)

        /// The cell as table text.
        public var text: String {
            switch self {
            case .null: return ""
            case .int(let i): return String(i)
            case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
            case .text(let s): return s
            }
        }

        var json: JSONValue {
            switch self {
            case .null: return .null
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .text(let s): return .string(s)
            }
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
        let numeric = columns.indices.map { i in
            rows.allSatisfy { row in
                switch row[i] {
                case .int, .double, .null: return true
                case .text: return false
                }
            }
        }
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

extension JSONValue {
    /// Indented JSON with keys in canonical order, for people.
    public var prettyText: String {
        var out = ""
        write(into: &out, indent: 0, order: nil)
        return out
    }

    func canonicalTextInColumnOrder(_ columns: [String]) -> String {
        guard case .object(let members) = self else { return canonicalText }
        return "{" + columns.compactMap { key in members[key].map { JSONValue.string(key).canonicalText + ":" + $0.canonicalText } }
            .joined(separator: ",") + "}"
    }

    private func write(into out: inout String, indent: Int, order: [String]?) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        let inline = canonicalText
        if inline.count <= 72, !inline.contains("{") {
            // Short arrays of scalars (points, sizes) stay on one line.
            out += inline
            return
        }
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.write(into: &out, indent: indent + 1, order: order)
                out += i < items.count - 1 ? ",\n" : "\n"
            }
            out += closePad + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                out += pad + JSONValue.string(key).canonicalText + ": "
                members[key]!.write(into: &out, indent: indent + 1, order: order)
                out += i < keys.count - 1 ? ",\n" : "\n"
            }
            out += closePad + "}"
        default:
            out += canonicalText
        }
    }
}
