import Foundation
import StreamDBModel

/// How a typed result is to be shown: the format, the status names and the time zone.
public struct RenderContext: Sendable {
    public var format: OutputFormat
    public var labels: StatusLabels
    /// The zone of table times; nil for UTC. JSON, NDJSON and CSV always write UTC ISO 8601.
    public var zone: TimeZone?
    /// The terminal's width, to fit tables into; nil prints them in full (piped, or `--wide`).
    public var width: Int?

    public init(format: OutputFormat = .table, labels: StatusLabels = StatusLabels(), zone: TimeZone? = nil, width: Int? = nil) {
        self.format = format
        self.labels = labels
        self.zone = zone
        self.width = width
    }

    /// Whether values are written for people (the table) rather than for programs.
    public var readable: Bool { format == .table }

    /// A time: readable in the zone for the table, ISO 8601 UTC otherwise.
    public func time(_ date: Date?) -> ResultTable.Cell {
        guard let date else { return .null }
        return .text(readable ? DurationText.readable(date, zone: zone) : Timestamp.format(date))
    }

    /// A duration: `3h 12m` for the table, seconds (to the millisecond) otherwise.
    public func duration(_ seconds: Double?) -> ResultTable.Cell {
        guard let seconds else { return .null }
        return readable ? .text(DurationText.format(seconds: seconds)) : .double((seconds * 1000).rounded() / 1000)
    }

    /// A raw status for the table, with its label (`WORKING (11)`).
    public func statusLabel(_ status: StatusValue?) -> ResultTable.Cell {
        status.map { .text(labels.label($0)) } ?? .null
    }

    /// Optional text.
    public func text(_ text: String?) -> ResultTable.Cell { text.map(ResultTable.Cell.text) ?? .null }
}

/// One column of a report: its name and how a row fills it. A status column is two in the
/// formats for programs: the raw value as served and its label.
public struct Column<Row>: Sendable {
    let names: @Sendable (RenderContext) -> [String]
    /// Appends the row's cells of this column: a report of 30,000 rows would otherwise build an
    /// array per cell.
    let append: @Sendable (Row, RenderContext, inout [ResultTable.Cell]) -> Void

    public init(_ name: String, _ cell: @escaping @Sendable (Row, RenderContext) -> ResultTable.Cell) {
        names = { _ in [name] }
        append = { row, context, out in out.append(cell(row, context)) }
    }

    /// The row's cells of this column.
    func cells(_ row: Row, _ context: RenderContext) -> [ResultTable.Cell] {
        var out: [ResultTable.Cell] = []
        append(row, context, &out)
        return out
    }

    /// A status: `WORKING (11)` in a table; in JSON, NDJSON and CSV the raw value as served (an
    /// integer or a string) in `name` and its name from the labels (or null) in `name_label`.
    public static func status(_ name: String, _ value: @escaping @Sendable (Row) -> StatusValue?) -> Column {
        Column(
            names: { context in context.readable ? [name] : [name, name + "_label"] },
            append: { row, context, out in
                let status = value(row)
                guard !context.readable else { return out.append(context.statusLabel(status)) }
                out.append(status.map { ResultTable.Cell(json: $0.json) } ?? .null)
                out.append(status.flatMap { context.labels.names[$0.description] }.map(ResultTable.Cell.text) ?? .null)
            })
    }

    init(
        names: @escaping @Sendable (RenderContext) -> [String],
        append: @escaping @Sendable (Row, RenderContext, inout [ResultTable.Cell]) -> Void
    ) {
        self.names = names
        self.append = append
    }

    init(
        names: @escaping @Sendable (RenderContext) -> [String],
        cells: @escaping @Sendable (Row, RenderContext) -> [ResultTable.Cell]
    ) {
        self.names = names
        append = { row, context, out in out.append(contentsOf: cells(row, context)) }
    }
}

extension ResultTable.Cell {
    /// A scalar JSON value as a cell.
    init(json: JSONValue) {
        switch json {
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .text(s)
        case .null: self = .null
        default: self = .text(json.canonicalText)
        }
    }
}

/// A typed query result that prints as a table: its columns, one line each, and its rows. Adding
/// a column to a report is its query's field and one line here.
public protocol Report {
    associatedtype Row
    static var columns: [Column<Row>] { get }
    var reportRows: [Row] { get }
    /// Columns left out of this result (the source, when the database holds only one).
    var hiddenColumns: Set<String> { get }
}

extension Report {
    public var hiddenColumns: Set<String> { [] }

    /// The result as a table in `context`.
    public func table(_ context: RenderContext) -> ResultTable {
        let hidden = hiddenColumns
        let columns = Self.columns.filter { column in !column.names(context).contains { hidden.contains($0) } }
        let names = columns.flatMap { $0.names(context) }
        return ResultTable(
            columns: names,
            rows: reportRows.map { row in
                var cells: [ResultTable.Cell] = []
                cells.reserveCapacity(names.count)
                for column in columns { column.append(row, context, &cells) }
                return cells
            })
    }

    /// The result rendered in the context's format. The formats for programs are written row by
    /// row (a table aligns its columns over all of them).
    public func rendered(_ context: RenderContext) -> String {
        guard context.format != .table else { return table(context).rendered(as: .table, width: context.width) }
        let writer = rows(context, sink: nil)
        return writer.finish()
    }

    /// The result written to a file descriptor (standard output) as it is rendered: in a format
    /// for programs 64 KiB at a time, never held whole; the table, which aligns its columns over
    /// every row, at once. What `print` buffered is flushed first, so the order stays.
    public func write(_ context: RenderContext, to descriptor: Int32 = STDOUT_FILENO) {
        fflush(nil)
        guard context.format != .table else {
            var text = table(context).rendered(as: .table, width: context.width)
            text.withUTF8 { writeAll($0, to: descriptor) }
            return
        }
        var writer = rows(context) { writeAll($0, to: descriptor) }
        writer.finishToSink()
    }

    /// A writer that has been given every row.
    private func rows(_ context: RenderContext, sink: ((UnsafeBufferPointer<UInt8>) -> Void)?) -> ResultTable.RowWriter {
        let hidden = hiddenColumns
        let columns = Self.columns.filter { column in !column.names(context).contains { hidden.contains($0) } }
        let names = columns.flatMap { $0.names(context) }
        let rows = reportRows
        var writer = ResultTable.RowWriter(columns: names, format: context.format, rows: rows.count, sink: sink)
        var cells: [ResultTable.Cell] = []
        cells.reserveCapacity(names.count)
        // By index: the row is lent to each column, not copied (a copy retains every field).
        for index in rows.indices {
            cells.removeAll(keepingCapacity: true)
            for column in columns { column.append(rows[index], context, &cells) }
            writer.append(cells)
        }
        return writer
    }
}

/// Writes all of `bytes` to `descriptor`, through partial writes and interruptions; stops at
/// another error (a closed pipe: the reader has what it wanted).
func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: Int32) {
    guard var next = bytes.baseAddress else { return }
    var left = bytes.count
    while left > 0 {
        let written = Foundation.write(descriptor, next, left)
        if written < 0 {
            if errno == EINTR { continue }
            return
        }
        next += written
        left -= written
    }
}
