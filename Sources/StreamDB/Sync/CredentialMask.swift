import Foundation

/// Masks passwords in URLs (`rtsp://admin:secret@camera/...` becomes `rtsp://admin:***@camera/...`)
/// anywhere in a served stream, before anything is hashed or stored.
///
/// Camera and callback URLs in pipeline configs often carry credentials; the history database is
/// an infrastructure map that outlives them, so by default it never holds them. A password change
/// alone is then not a change. `streamdb sync --keep-url-credentials` turns masking off.
public enum CredentialMask {
    /// What a masked password reads as.
    public static let placeholder = "***"

    /// `text` with every URL password replaced by ``placeholder``: in `scheme://user:password@host`,
    /// the part between the first `:` after `//` and the `@` that ends the authority.
    public static func mask(_ text: String) -> String {
        guard text.utf8.count >= 8, text.contains("://") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        var changed = false
        while i < bytes.count {
            // At "://" preceded by a scheme character: look at the authority that follows.
            if i + 2 < bytes.count, bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/"),
               i > 0, isSchemeByte(bytes[i - 1]) {
                out.append(contentsOf: bytes[i...(i + 2)])
                var j = i + 3
                var colon: Int?
                var at: Int?
                while j < bytes.count {
                    let b = bytes[j]
                    if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || b == UInt8(ascii: " ")
                        || b == UInt8(ascii: "\"") || b < 0x20 { break }
                    if b == UInt8(ascii: "@") { at = j }
                    if b == UInt8(ascii: ":"), colon == nil, at == nil { colon = j }
                    j += 1
                }
                if let colon, let at, colon < at, at > colon + 1 {
                    out.append(contentsOf: bytes[(i + 3)...colon])
                    out.append(contentsOf: placeholder.utf8)
                    out.append(contentsOf: bytes[at..<j])
                    changed = true
                } else {
                    out.append(contentsOf: bytes[(i + 3)..<j])
                }
                i = j
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    private static func isSchemeByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2D || b == 0x2E
    }

    /// `value` with every string masked, at any depth (JSON held in strings included).
    public static func mask(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(mask(s))
        case .array(let items): return .array(items.map(mask))
        case .object(let members): return .object(members.mapValues(mask))
        default: return value
        }
    }
}
