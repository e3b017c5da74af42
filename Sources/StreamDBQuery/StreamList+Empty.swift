import Foundation
import GRDB
import StreamDBModel

extension StreamList {
    /// Why a filter matched no stream, when a filter value is the reason: a region, status or
    /// case type the history never held (with the nearest it did hold), or a moment before the
    /// first sync. Nil when every value is known and the fleet simply has no such stream.
    static func whyEmpty(_ filter: Filter, in db: Database) throws -> String? {
        if let asOf = filter.asOf,
            let first = try String.fetchOne(db, sql: "SELECT min(started_at) FROM sync_runs").flatMap(Timestamp.parse),
            asOf < first
        {
            return "\(Timestamp.format(asOf)) is before the first sync (\(Timestamp.format(first))): the mirror knew no streams then."
        }
        if let source = filter.source {
            let names = try String.fetchAll(db, sql: "SELECT name FROM sources ORDER BY name")
            if !names.contains(source) {
                return "no source is called '\(source)'\(Self.nearest(source, in: names)) (sources: \(names.joined(separator: ", ")))."
            }
        }
        if let region = filter.region {
            let titles = try String.fetchAll(db, sql: "SELECT title FROM regions ORDER BY title")
            let ids = try String.fetchAll(db, sql: "SELECT CAST(id AS TEXT) FROM regions")
            if !titles.contains(region) && !ids.contains(region) {
                return "no region is called '\(region)'\(Self.nearest(region, in: titles)) (regions: \(titles.joined(separator: ", ")))."
            }
        }
        if let status = filter.status {
            let known = try String.fetchAll(db, sql: "SELECT DISTINCT CAST(status AS TEXT) FROM versions ORDER BY 1")
            if !known.contains(status) {
                return "no stream ever had the status '\(status)' (statuses seen: \(known.joined(separator: ", "))); "
                    + "a name needs --status-labels."
            }
        }
        if let caseType = filter.caseType {
            let known = try String.fetchAll(
                db, sql: "SELECT DISTINCT case_type FROM config_case_types WHERE case_type IS NOT NULL ORDER BY 1")
            if !known.contains(caseType) {
                return
                    "no stream has the case type '\(caseType)'\(Self.nearest(caseType, in: known)) (case types: \(known.joined(separator: ", ")))."
            }
        }
        return nil
    }

    /// Why a region, source or case type given to a report names nothing the history holds; nil
    /// when each one given is known.
    static func unknown(region: String?, source: String?, caseType: String?, in db: Database) throws -> String? {
        var filter = Filter()
        filter.region = region
        filter.source = source
        filter.caseType = caseType
        return try whyEmpty(filter, in: db)
    }

    /// `; did you mean 'minsk'?` for a close spelling or a unique prefix, else nothing.
    static func nearest(_ word: String, in names: [String]) -> String {
        let lower = word.lowercased()
        if let prefixed = names.filter({ $0.lowercased().hasPrefix(lower) }).first, !lower.isEmpty {
            return "; did you mean '\(prefixed)'?"
        }
        let scored = names.map { ($0, EditDistance.between($0.lowercased(), lower)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let best = scored.first, best.1 <= max(2, word.count / 3) else { return "" }
        return "; did you mean '\(best.0)'?"
    }
}
