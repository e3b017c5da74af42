/// The exit statuses streamdb documents (in `--help` and the README).
public enum ExitStatus: Int32, Sendable {
    /// Everything asked for was done.
    case ok = 0
    /// A sync stored some streams and failed for others (see `streamdb runs`).
    case partial = 1
    /// Nothing was done: bad arguments, an unusable database, an unreachable server, a query error.
    case failed = 2
    /// Another `streamdb sync` holds the database.
    case busy = 3
}

/// An error a user can meet: one sentence to print and the exit status it ends the command with.
///
/// Every error type of the library conforms (``JSONValue/ParseError`` excepted: it is always
/// wrapped in a sentence that says which document failed to parse). The command line prints
/// ``message`` once, as `streamdb: <message>`, and exits with ``exitStatus``.
public protocol StreamDBError: Error, Sendable, CustomStringConvertible {
    /// One sentence, ending with a full stop, that names what failed and, where it helps, what to do.
    var message: String { get }
    var exitStatus: ExitStatus { get }
}

extension StreamDBError {
    public var description: String { message }
}
