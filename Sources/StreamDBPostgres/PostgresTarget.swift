import Foundation
import NIOSSL
import PostgresNIO

/// A PostgreSQL database named by a `postgresql://` URL, with its password found the way libpq
/// finds it, and TLS as `sslmode` asks.
///
/// The password is never part of the URL (a command line and a config file are seen by others):
/// it comes from `--pg-password-file`, else `$PGPASSWORD`, else the password file
/// (`$PGPASSFILE` or `~/.pgpass`). It never appears in ``description``, logs or errors.
public struct PostgresTarget: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        /// No TLS (loopback, a Unix socket's neighbour).
        case disable
        /// TLS without checking the certificate: encrypted, not authenticated.
        case require
        /// TLS, the certificate checked against the trusted roots and the host name (the default).
        case verifyFull = "verify-full"
    }

    public let host: String
    public let port: Int
    public let user: String
    public let database: String
    public let tls: TLSMode
    /// PEM file of the roots to trust (`sslrootcert`); the system's otherwise.
    public let rootCertificates: String?
    let password: String?
    /// Where the password came from, for the one sentence that says it was refused.
    let passwordOrigin: String?

    /// `postgresql://user@host:5432/db` (the password hidden).
    public var description: String { "postgresql://\(user)@\(host):\(port)/\(database)" }

    /// Parses `url` and finds the password.
    /// - Parameters:
    ///   - passwordFile: `--pg-password-file`: the whole first line is the password.
    ///   - environment: for `$PGPASSWORD`, `$PGPASSFILE` and `$HOME`.
    public init(url: String, passwordFile: String? = nil, environment: [String: String]) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgresql" || scheme == "postgres"
        else {
            throw PublishError(
                .usage, "'\(Self.redacted(url))' is not a PostgreSQL URL; write postgresql://user@host:5432/database.")
        }
        if components.password != nil {
            throw PublishError(
                .usage,
                "the PostgreSQL URL holds a password, which a command line or config file shows to others; put it in $PGPASSWORD, ~/.pgpass or --pg-password-file and leave it out of the URL."
            )
        }
        guard let host = components.host, !host.isEmpty else {
            throw PublishError(
                .usage, "the PostgreSQL URL \(Self.redacted(url)) names no host; write postgresql://user@host:5432/database.")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else {
            throw PublishError(.usage, "the PostgreSQL URL \(Self.redacted(url)) names no database; add it after the host: .../database.")
        }
        let user = components.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        var tls = TLSMode.verifyFull
        var rootCertificates: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    let names = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw PublishError(.usage, "sslmode=\(item.value ?? "") is not one streamdb knows; use one of \(names).")
                }
                tls = mode
            case "sslrootcert":
                rootCertificates = item.value
            default:
                throw PublishError(
                    .usage, "the PostgreSQL URL's parameter '\(item.name)' is not one streamdb knows (sslmode, sslrootcert).")
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.user = user
        self.database = database
        self.tls = tls
        self.rootCertificates = rootCertificates
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw PublishError(.usage, "cannot read the PostgreSQL password file \(passwordFile).")
            }
            password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            passwordOrigin = passwordFile
        } else if let value = environment["PGPASSWORD"], !value.isEmpty {
            password = value
            passwordOrigin = "$PGPASSWORD"
        } else {
            let file =
                environment["PGPASSFILE"] ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".pgpass")
            let text = try? String(contentsOfFile: file, encoding: .utf8)
            password = text.flatMap {
                Self.passwordFileEntry($0, host: host, port: components.port ?? 5432, database: database, user: user)
            }
            passwordOrigin = password == nil ? nil : file
        }
    }

    /// The password of the first line of a libpq password file
    /// (`hostname:port:database:username:password`, `*` matching anything, `\:` and `\\` escaped)
    /// that matches.
    static func passwordFileEntry(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = [""]
            var escaped = false
            for character in line {
                if escaped {
                    fields[fields.count - 1].append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" && fields.count < 5 {
                    fields.append("")
                } else {
                    fields[fields.count - 1].append(character)
                }
            }
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// The URL with anything after `user:` up to `@` replaced, for messages.
    static func redacted(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return url.replacingCharacters(in: colon..<at, with: ":***")
    }

    /// The connection's configuration for PostgresNIO.
    func configuration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = tls == .verifyFull ? .fullVerification : .none
            if let rootCertificates {
                guard FileManager.default.isReadableFile(atPath: rootCertificates) else {
                    throw PublishError(.usage, "cannot read sslrootcert \(rootCertificates).")
                }
                configuration.trustRoots = .file(rootCertificates)
            }
            do {
                tlsSetting = .require(try NIOSSLContext(configuration: configuration))
            } catch {
                throw PublishError(.usage, "cannot use the TLS settings for PostgreSQL (\(error)).")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(10)
        if tls == .verifyFull { configuration.options.tlsServerName = host }
        return configuration
    }
}
