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

    nonisolated(unsafe) private static let userInfo = /([A-Za-z][A-Za-z0-9+.\-]*:\/\/[^\/\s:@"]*):([^@\/\s"]+)@/

    /// `text` with every URL password replaced by ``placeholder``.
    public static func mask(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        return text.replacing(userInfo) { match in "\(match.1):\(placeholder)@" }
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
