import Foundation
import StreamDBModel

extension JSONValue {
    /// Indented JSON with keys in canonical order, for people.
    public var prettyText: String {
        var out = ""
        write(into: &out, indent: 0)
        return out
    }

    private func write(into out: inout String, indent: Int) {
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
                item.write(into: &out, indent: indent + 1)
                out += i < items.count - 1 ? ",\n" : "\n"
            }
            out += closePad + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            let keys = members.keys.sorted { $0.utf8Precedes($1) }
            for (i, key) in keys.enumerated() {
                out += pad + JSONValue.string(key).canonicalText + ": "
                members[key]!.write(into: &out, indent: indent + 1)
                out += i < keys.count - 1 ? ",\n" : "\n"
            }
            out += closePad + "}"
        default:
            out += canonicalText
        }
    }
}
