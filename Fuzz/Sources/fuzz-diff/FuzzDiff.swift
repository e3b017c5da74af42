import Foundation
import StreamDBModel

/// One input is two JSON documents separated by a NUL byte (which JSON text cannot hold), or, when
/// there is none, split in the middle. Diffing them must not crash, must find nothing between equal
/// documents, must find the same changes both ways round (additions and removals swapped), and
/// every replacement and addition must point (RFC 6901) at its new value in the new document.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDiff(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    let cut = data.firstIndex(of: 0) ?? data.startIndex + data.count / 2
    let rest = cut < data.endIndex && data[cut] == 0 ? data.index(after: cut) : cut
    guard let old = try? JSONValue.parse(data[data.startIndex..<cut]),
        let new = try? JSONValue.parse(data[rest...])
    else { return 0 }
    let diff = ConfigDiff(old: old, new: new)
    precondition(ConfigDiff(old: old, new: old).isEmpty && ConfigDiff(old: new, new: new).isEmpty, "a document differs from itself")
    if old == new { precondition(diff.isEmpty, "equal documents differ") }
    let back = ConfigDiff(old: new, new: old)
    precondition(back.changes.count == diff.changes.count, "the diff is not symmetric")
    func tally(_ d: ConfigDiff, _ op: ConfigDiff.Operation) -> Int { d.changes.filter { $0.operation == op }.count }
    precondition(
        tally(diff, .added) == tally(back, .removed) && tally(diff, .removed) == tally(back, .added), "additions and removals do not swap")
    for change in diff.changes where change.operation != .removed {
        precondition(resolve(change.pointer, in: new) == change.new, "pointer \(change.pointer) does not lead to the new value")
    }
    _ = diff.text
    // The patch wraps each value two levels deeper ([{"value": ...}]): a document at the parser's
    // depth limit gives a patch that is valid JSON but nested past the limit.
    do {
        _ = try JSONValue.parse(diff.jsonPatch.canonicalText)
    } catch {
        precondition("\(error)".contains("nested too deeply"), "the JSON Patch is not JSON: \(error)")
    }
    if let first = diff.changes.first, first.path != "(whole document)" {
        precondition(
            ConfigDiff(old: old, new: new, ignoring: [first.path]).changes.count < diff.changes.count, "ignoring a changed path left it in")
    }
    return 0
}

/// The value an RFC 6901 pointer designates, or nil.
private func resolve(_ pointer: String, in document: JSONValue) -> JSONValue? {
    guard !pointer.isEmpty else { return document }
    var value = document
    for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
        let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        switch value {
        case .object(let members):
            guard let next = members[key] else { return nil }
            value = next
        case .array(let items):
            guard let index = Int(key), items.indices.contains(index) else { return nil }
            value = items[index]
        default:
            return nil
        }
    }
    return value
}
