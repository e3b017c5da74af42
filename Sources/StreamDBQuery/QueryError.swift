import StreamDBModel

/// Why a query cannot answer: an unknown stream, a version that does not exist, SQL that does not
/// compile. Always a sentence a user can act on; status 2.
public struct QueryError: StreamDBError {
    public let message: String
    public var exitStatus: ExitStatus { .failed }
    public init(_ message: String) { self.message = message }
}
