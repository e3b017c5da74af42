import Foundation
import TOMLKit

/// `streamdb.toml` as written: the file's whole schema, one struct, decoded by TOMLKit. Read it
/// through ``StreamdbConfig/load(path:)``, which validates it once.
struct ConfigFile: Decodable {
    var db: String?
    var statusLabels: StatusLabelsSetting?
    var upStatuses: [String]?
    var output: Output?
    var flapping: Flapping?
    var metricsFile: String?
    var pingURL: String?
    var publishTo: String?
    var source: [Source]?

    /// `[flapping]`: what `streamdb flapping` and `streamdb uptime` call flapping.
    struct Flapping: Decodable {
        var window: String?
        var minChanges: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case window
            case minChanges = "min_changes"
        }
    }

    struct Output: Decodable {
        var format: String?
        var tz: String?
    }

    struct Source: Decodable {
        var name: String?
        var url: String?
        var token: String?
        var tokenFile: String?
        var tokenEnv: String?
        var authScheme: String?
        var caFile: String?
        var insecure: Bool?
        var concurrency: Int?
        var timeout: Double?
        var retries: Int?
        var batchSize: Int?
        var jobUIDs: [String]?
        var jobsFile: String?
        var list: Bool?
        var keepURLCredentials: Bool?
        var maskQueryParams: [String]?
        var metricsFile: String?
        var pingURL: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, url, token, insecure, concurrency, timeout, retries, list
            case tokenFile = "token_file"
            case tokenEnv = "token_env"
            case authScheme = "auth_scheme"
            case caFile = "ca_file"
            case batchSize = "batch_size"
            case jobUIDs = "job_uids"
            case jobsFile = "jobs_file"
            case keepURLCredentials = "keep_url_credentials"
            case maskQueryParams = "mask_query_params"
            case metricsFile = "metrics_file"
            case pingURL = "ping_url"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            url = try c.decodeIfPresent(String.self, forKey: .url)
            token = try c.decodeIfPresent(String.self, forKey: .token)
            tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
            tokenEnv = try c.decodeIfPresent(String.self, forKey: .tokenEnv)
            authScheme = try c.decodeIfPresent(String.self, forKey: .authScheme)
            caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
            insecure = try c.decodeIfPresent(Bool.self, forKey: .insecure)
            concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency)
            // A whole number of seconds is a TOML integer: read either.
            timeout =
                try (try? c.decodeIfPresent(Int.self, forKey: .timeout)).flatMap { $0.map(Double.init) }
                ?? c.decodeIfPresent(Double.self, forKey: .timeout)
            retries = try c.decodeIfPresent(Int.self, forKey: .retries)
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
            jobUIDs = try c.decodeIfPresent([String].self, forKey: .jobUIDs)
            jobsFile = try c.decodeIfPresent(String.self, forKey: .jobsFile)
            list = try c.decodeIfPresent(Bool.self, forKey: .list)
            keepURLCredentials = try c.decodeIfPresent(Bool.self, forKey: .keepURLCredentials)
            maskQueryParams = try c.decodeIfPresent([String].self, forKey: .maskQueryParams)
            metricsFile = try c.decodeIfPresent(String.self, forKey: .metricsFile)
            pingURL = try c.decodeIfPresent(String.self, forKey: .pingURL)
        }
    }

    /// `status_labels = "/etc/streamdb/labels.txt"`, or a table `[status_labels]` of `11 = "WORKING"`.
    enum StatusLabelsSetting: Decodable {
        case file(String)
        case names([String: String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let path = try? container.decode(String.self) {
                self = .file(path)
            } else {
                self = .names(try container.decode([String: String].self))
            }
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case db, output, source, flapping
        case statusLabels = "status_labels"
        case upStatuses = "up_statuses"
        case metricsFile = "metrics_file"
        case pingURL = "ping_url"
        case publishTo = "publish_to"
    }

    /// What each key holds, for the sentence about a value of another type.
    static let expected: [String: String] = [
        "db": "a string (a path)", "status_labels": "a file name or a table of CODE = \"NAME\"",
        "up_statuses": "a list of strings", "output": "a table", "source": "a list of [[source]] tables",
        "format": "a string", "tz": "a string", "name": "a string", "url": "a string", "token": "a string",
        "token_file": "a string (a path)", "token_env": "a string (a variable's name)", "auth_scheme": "a string",
        "ca_file": "a string (a path)", "insecure": "true or false", "concurrency": "a whole number",
        "timeout": "a number of seconds", "retries": "a whole number", "batch_size": "a whole number",
        "job_uids": "a list of strings", "jobs_file": "a string (a path)", "list": "true or false",
        "keep_url_credentials": "true or false", "mask_query_params": "a list of strings",
        "metrics_file": "a string (a path)", "ping_url": "a string (a URL)", "flapping": "a table",
        "publish_to": "a string (a postgresql:// URL)",
        "window": "a string (a length such as 1h)", "min_changes": "a whole number",
    ]

    /// The keys the file may hold, by table: an unknown key is an error, not silence.
    static let known: [String: Set<String>] = [
        "": Set(CodingKeys.allCases.map(\.rawValue)),
        "output": ["format", "tz"],
        "flapping": Set(Flapping.CodingKeys.allCases.map(\.rawValue)),
        "source": Set(Source.CodingKeys.allCases.map(\.rawValue)),
    ]
}
