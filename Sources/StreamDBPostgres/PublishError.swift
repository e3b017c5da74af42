import Foundation
import PostgresNIO
import StreamDBModel

/// Why a publish (or a read from the team mirror) did not happen: one sentence, never the password.
public struct PublishError: StreamDBError {
    public enum Reason: Sendable, Equatable {
        /// A URL, option or file the command line named is wrong.
        case usage
        /// PostgreSQL could not be reached, refused the login, or failed a statement.
        case postgres
        /// The mirror holds a schema from a newer streamdb, or another origin's source of that name.
        case conflict
        /// Another publisher holds the database or one of its sources (exit 3, as sync does).
        case busy
    }

    public let reason: Reason
    public let message: String
    public var exitStatus: ExitStatus { reason == .busy ? .busy : .failed }

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// One sentence for an error from PostgresNIO, naming the server and what to do.
    static func translating(_ error: any Error, target: PostgresTarget, doing step: String) -> any Error {
        if let error = error as? PublishError { return error }
        if let error = error as? any StreamDBError { return error }
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError { return translating(inner, target: target, doing: step) }
            if let inner = error.commitError { return translating(inner, target: target, doing: step) }
            if let inner = error.beginError { return translating(inner, target: target, doing: step) }
        }
        guard let error = error as? PSQLError else {
            let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
            return PublishError(.postgres, "\(step) on \(target) failed (\(text)); nothing of this publish was kept.")
        }
        if let info = error.serverInfo {
            let message = (info[.message] ?? "error").replacingOccurrences(of: "\n", with: " ")
            let state = info[.sqlState] ?? ""
            if state == "28P01" || state == "28000" {
                let origin =
                    target.passwordOrigin.map { " (the password from \($0))" }
                    ?? " (no password was found in $PGPASSWORD, ~/.pgpass or --pg-password-file)"
                return PublishError(.postgres, "PostgreSQL at \(target) refused the login of \(target.user)\(origin): \(message).")
            }
            if state == "3D000" {
                return PublishError(
                    .postgres, "PostgreSQL at \(target) has no database \(target.database): create it first (createdb \(target.database)).")
            }
            let detail = info[.detail].map { " (\($0.replacingOccurrences(of: "\n", with: " ")))" } ?? ""
            return PublishError(
                .postgres,
                "\(step) on \(target) failed: PostgreSQL said \"\(message)\"\(detail) [\(state)]; nothing of this publish was kept.")
        }
        switch error.code {
        case .connectionError:
            let cause = error.underlying.map { String(describing: $0) } ?? "no answer"
            return PublishError(.postgres, "cannot reach PostgreSQL at \(target) (\(cause)); nothing was published.")
        case .serverClosedConnection, .uncleanShutdown:
            return PublishError(
                .postgres,
                "PostgreSQL at \(target) closed the connection during \(step) (restarted?); nothing of this publish was kept, the next one resumes."
            )
        case .sslUnsupported:
            return PublishError(
                .postgres,
                "PostgreSQL at \(target) does not offer TLS; add ?sslmode=disable to the URL only if the network path is trusted.")
        case .authMechanismRequiresPassword:
            return PublishError(
                .postgres, "PostgreSQL at \(target) asks for a password and none was found in --pg-password-file, $PGPASSWORD or ~/.pgpass."
            )
        default:
            let cause = error.underlying.map { " (\(String(describing: $0).replacingOccurrences(of: "\n", with: " ")))" } ?? ""
            return PublishError(.postgres, "\(step) on \(target) failed: \(error.code)\(cause); nothing of this publish was kept.")
        }
    }
}
