import Foundation
import StreamDBModel

/// The fleet as the mirror knew it at a moment: the streams that existed then, each with the
/// version (status, config, regions) it had then. Without a moment, the fleet now.
///
/// "Knew" is by `observed_at`: a change enters the picture when a sync saw it.
enum FleetAsOf {
    /// A `SELECT` of `job_uid, source_id, version, rest_id, platform_config_id, status, observed_at, gone`
    /// over every stream seen by `:as_of`, where `gone` is 1 for streams gone at that moment.
    static let sql = """
        SELECT st.job_uid, st.source_id, v.version, v.rest_id, v.platform_config_id, v.status, v.observed_at,
               coalesce((SELECT e.event = 'gone' FROM presence_events AS e
                          WHERE e.stream_id = st.stream_id AND e.observed_at <= :as_of
                          ORDER BY e.observed_at DESC, e.id DESC LIMIT 1), 0) AS gone
        FROM streams AS st
        JOIN versions AS v ON v.stream_id = st.stream_id
         AND v.version = (SELECT x.version FROM versions AS x
                          WHERE x.stream_id = st.stream_id AND x.observed_at <= :as_of
                          ORDER BY x.observed_at DESC, x.version DESC LIMIT 1)
        WHERE st.first_seen_at <= :as_of
        """

    /// `asOf` in the database's format, or a time after everything stored.
    static func moment(_ asOf: Date?) -> String { asOf.map(Timestamp.format) ?? "9999-12-31T23:59:59Z" }
}
