import Foundation
import GRDB
import StreamDBModel

extension DatabaseValue {
    /// A stored status as the value the server sent; nil for NULL.
    var statusValue: StatusValue? {
        switch storage {
        case .null: return nil
        case .int64(let i): return .int(i)
        case .double(let d): return .text(String(d))
        case .string(let s): return .text(s)
        case .blob: return .text("(blob)")
        }
    }
}

extension Row {
    /// A stored time (ISO 8601 text) as a date; nil for NULL or text that is not a time.
    func date(_ column: String) -> Date? {
        (self[column] as String?).flatMap(Timestamp.parse)
    }

    /// A list stored with `group_concat(x, char(31))`.
    func list(_ column: String) -> [String] {
        listItems(self[column] as String?)
    }

    /// The same, by the column's index.
    func list(at index: Int) -> [String] {
        listItems(self[index] as String?)
    }
}

/// The separator of lists that queries build with group_concat: a control character no title
/// carries.
let listSeparator = "char(31)"

/// The items of such a list; none for NULL.
func listItems(_ text: String?) -> [String] {
    guard let text else { return [] }
    return text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
}
