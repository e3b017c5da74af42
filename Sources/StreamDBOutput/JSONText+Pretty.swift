/// JSON text indented for people without re-reading its values: keys stay in their order and
/// numbers as spelled (`0.0` stays `0.0`), which ``JSONValue/prettyText`` (canonical) does not
/// keep. For `streamdb show --config`, which prints a config as the server served it.
public enum JSONTextPretty {
    /// `text` (valid JSON) indented by two spaces; short arrays of scalars stay on one line.
    public static func format(_ text: String) -> String {
        let chars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var indent = 0
        var i = 0
        func newline() {
            out.append("\n")
            for _ in 0..<(indent * 2) { out.append(" ") }
        }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\"":
                let end = stringEnd(chars, from: i)
                out.append(contentsOf: chars[i..<end])
                i = end
                continue
            case "{", "[":
                if let compact = compactContainer(chars, from: i) {
                    out.append(contentsOf: compact.text.unicodeScalars)
                    i = compact.end
                    continue
                }
                out.append(c)
                indent += 1
                newline()
            case "}", "]":
                indent -= 1
                newline()
                out.append(c)
            case ",":
                out.append(c)
                newline()
            case ":":
                out.append(contentsOf: ": ".unicodeScalars)
            case " ", "\n", "\r", "\t":
                break
            default:
                out.append(c)
            }
            i += 1
        }
        return String(out)
    }

    /// The index just after the string that starts at `start` (a quote).
    private static func stringEnd(_ chars: [Unicode.Scalar], from start: Int) -> Int {
        var i = start + 1
        while i < chars.count {
            if chars[i] == "\\" {
                i += 2
                continue
            }
            if chars[i] == "\"" { return i + 1 }
            i += 1
        }
        return chars.count
    }

    /// An empty container, or an array of scalars short enough for one line, without its spaces.
    private static func compactContainer(_ chars: [Unicode.Scalar], from start: Int) -> (text: String, end: Int)? {
        let close: Unicode.Scalar = chars[start] == "[" ? "]" : "}"
        var text = String.UnicodeScalarView([chars[start]])
        var i = start + 1
        while i < chars.count {
            let c = chars[i]
            if c == "\"" {
                let end = stringEnd(chars, from: i)
                text.append(contentsOf: chars[i..<end])
                i = end
            } else if c == "{" || c == "[" {
                return nil
            } else if c == close {
                text.append(c)
                let result = String(text)
                // Objects stay on one line only when empty.
                if close == "}" && result != "{}" { return nil }
                return result.count <= 72 ? (result, i + 1) : nil
            } else if c == "}" || c == "]" {
                return nil
            } else {
                if c != " " && c != "\n" && c != "\r" && c != "\t" { text.append(c) }
                i += 1
            }
        }
        return nil
    }
}
