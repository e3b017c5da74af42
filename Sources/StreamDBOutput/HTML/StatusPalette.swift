/// The report's colours: Okabe and Ito's palette, which stays distinct for the common kinds of
/// colour blindness and in grey when printed. A status keeps its colour from page to page: by its
/// name from the labels when it has a known one, else by its place among the statuses shown.
public enum StatusPalette {
    public static let working = "#009E73"  // bluish green
    public static let down = "#D55E00"  // vermillion
    public static let paused = "#F0E442"  // yellow
    public static let pending = "#56B4E9"  // sky blue
    public static let created = "#0072B2"  // blue
    /// Gone (the server answered 404): not a status, drawn pale and hatched.
    public static let gone = "#C8C8C8"
    /// For the other statuses, in order.
    static let others = ["#E69F00", "#CC79A7", "#000000", "#8C564B", "#7F7F7F"]

    /// Whether `name` is one of the statuses with a colour of their own.
    public static func isNamed(_ name: String?) -> Bool { colour(name: name, index: 0) != others[0] }

    /// The colour of a status named `name` (its label, or nil), the `index`-th other status shown.
    public static func colour(name: String?, index: Int) -> String {
        switch name?.uppercased() {
        case "WORKING", "UP", "RUNNING", "OK": return working
        case "DOWN", "ERROR", "FAILED", "FAIL", "BROKEN": return down
        case "IN_PAUSE", "PAUSED", "PAUSE", "STOPPED": return paused
        case "PENDING", "STARTING", "WAITING": return pending
        case "CREATED", "NEW": return created
        default: return others[index % others.count]
        }
    }
}
