import Foundation

/// A structural diff of two JSON documents (pipeline configs or whole payloads), path by path.
///
/// Objects are compared key by key. Arrays of objects that all carry a unique `Id` (or `id`) are
/// matched by that key, so reordering areas is no change and editing one area is one change;
/// other arrays of objects are compared by position. Arrays of plain values (a Shape's points,
/// ObjectMax) are values: a changed Shape is one change, shown whole.
public struct ConfigDiff: Sendable {
    public enum Operation: String, Sendable {
        case added = "+"
        case removed = "-"
        case changed = "~"

        /// The RFC 6902 operation name.
        var patchName: String {
            switch self {
            case .added: return "add"
            case .removed: return "remove"
            case .changed: return "replace"
            }
        }
    }

    public struct Change: Sendable {
        public let operation: Operation
        /// `Pipeline.Areas[Id=area_part_2].Shape`, for people.
        public let path: String
        /// RFC 6901 pointer into the document the operation applies to (`/Pipeline/Areas/1/Shape`).
        public let pointer: String
        public let old: JSONValue?
        public let new: JSONValue?
    }

    public let changes: [Change]
    public var isEmpty: Bool { changes.isEmpty }

    /// Compares `old` with `new`; changes at or below any path in `ignoring` are left out.
    public init(old: JSONValue, new: JSONValue, ignoring: [String] = []) {
        var changes: [Change] = []
        Self.walk(old, new, path: "", pointer: "", into: &changes)
        self.changes = changes.filter { change in
            !ignoring.contains { ignored in
                change.path == ignored || change.path.hasPrefix(ignored + ".") || change.path.hasPrefix(ignored + "[")
            }
        }
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func walk(_ a: JSONValue, _ b: JSONValue, path: String, pointer: String, into changes: inout [Change]) {
        if a == b { return }
        switch (a, b) {
        case (.object(let x), .object(let y)):
            let keys = Set(x.keys).union(y.keys).sorted { $0.utf8Precedes($1) }
            for key in keys {
                let p = join(path, key)
                let ptr = pointer + "/" + escape(key)
                switch (x[key], y[key]) {
                case (let old?, nil): changes.append(Change(operation: .removed, path: p, pointer: ptr, old: old, new: nil))
                case (nil, let new?): changes.append(Change(operation: .added, path: p, pointer: ptr, old: nil, new: new))
                case (let old?, let new?): walk(old, new, path: p, pointer: ptr, into: &changes)
                case (nil, nil): break
                }
            }
        case (.array(let x), .array(let y)) where (x + y).allSatisfy({ $0.objectValue != nil }):
            if let keyName = identityKey(x, y) {
                let oldIDs = x.map { identity($0, keyName)! }
                let newIDs = y.map { identity($0, keyName)! }
                for (i, id) in oldIDs.enumerated() where !newIDs.contains(id) {
                    changes.append(
                        Change(operation: .removed, path: "\(path)[\(keyName)=\(id)]", pointer: "\(pointer)/\(i)", old: x[i], new: nil))
                }
                for (j, id) in newIDs.enumerated() {
                    let p = "\(path)[\(keyName)=\(id)]"
                    if let i = oldIDs.firstIndex(of: id) {
                        walk(x[i], y[j], path: p, pointer: "\(pointer)/\(j)", into: &changes)
                    } else {
                        changes.append(Change(operation: .added, path: p, pointer: "\(pointer)/\(j)", old: nil, new: y[j]))
                    }
                }
            } else {
                for i in 0..<max(x.count, y.count) {
                    let p = "\(path)[\(i)]"
                    let ptr = "\(pointer)/\(i)"
                    if i >= y.count {
                        changes.append(Change(operation: .removed, path: p, pointer: ptr, old: x[i], new: nil))
                    } else if i >= x.count {
                        changes.append(Change(operation: .added, path: p, pointer: ptr, old: nil, new: y[i]))
                    } else {
                        walk(x[i], y[i], path: p, pointer: ptr, into: &changes)
                    }
                }
            }
        default:
            changes.append(Change(operation: .changed, path: path.isEmpty ? "(whole document)" : path, pointer: pointer, old: a, new: b))
        }
    }

    /// `Id` or `id` when every element of both arrays is an object carrying it, without repeats.
    private static func identityKey(_ x: [JSONValue], _ y: [JSONValue]) -> String? {
        let all = x + y
        guard !all.isEmpty else { return nil }
        for key in ["Id", "id"] {
            let xs = x.compactMap { identity($0, key) }
            let ys = y.compactMap { identity($0, key) }
            if xs.count == x.count, ys.count == y.count, Set(xs).count == xs.count, Set(ys).count == ys.count {
                return key
            }
        }
        return nil
    }

    private static func identity(_ value: JSONValue, _ key: String) -> String? {
        switch value[key] {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }

    /// `~ Pipeline.Detector.Threshold: 496 -> 512`, one line a change.
    public var text: String {
        changes.map { c in
            switch c.operation {
            case .changed: return "~ \(c.path): \(Self.short(c.old!)) -> \(Self.short(c.new!))"
            case .added: return "+ \(c.path): \(Self.short(c.new!))"
            case .removed: return "- \(c.path): \(Self.short(c.old!))"
            }
        }.joined(separator: "\n")
    }

    /// RFC 6902 JSON Patch operations, one per change. Pointers index the old document for
    /// removals and the new one for additions and replacements; arrays matched by `Id` that were
    /// also reordered would need `move` operations, which this does not emit.
    public var jsonPatch: JSONValue {
        .array(
            changes.map { c in
                var op: [String: JSONValue] = ["op": .string(c.operation.patchName), "path": .string(c.pointer)]
                if let new = c.new { op["value"] = new }
                return .object(op)
            })
    }

    private static func short(_ value: JSONValue) -> String {
        let text = value.canonicalText
        return text.count > 120 ? String(text.prefix(117)) + "..." : text
    }
}
