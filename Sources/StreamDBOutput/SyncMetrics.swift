import Foundation
import Prometheus
import StreamDBModel
import StreamDBQuery
import StreamDBStore

/// Each source's last run in the Prometheus text format, for node_exporter's textfile collector
/// (`streamdb sync --metrics-file`). Every series is a gauge labelled with the source:
///
/// - `streamdb_sync_last_run_outcome{outcome="ok|partial|failed|interrupted|running"}`: 1 for the
///   last run's outcome, 0 for the others;
/// - `streamdb_sync_last_run_start_timestamp_seconds`, `..._finish_timestamp_seconds`,
///   `..._duration_seconds`;
/// - `streamdb_sync_last_run_streams{state="seen|new|changed|unchanged|gone|back|replaced"}`;
/// - `streamdb_sync_last_run_errors` (all) and `streamdb_sync_last_run_errors_by_kind{kind}`;
/// - `streamdb_sync_last_success_timestamp_seconds`: 0 when no run of the source succeeded yet, so
///   that `time() - streamdb_sync_last_success_timestamp_seconds > 3600` fires for it too.
public enum SyncMetrics {
    /// The metrics of `health`, rendered by swift-prometheus.
    public static func text(_ health: SyncHealth) -> String {
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, unit: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(
                    namespace: "streamdb", subsystem: "sync", metricName: name, unitName: unit, helpText: help),
                labels: labels)
        }
        for source in health.sources {
            let label = ("source", source.name)
            gauge("last_success", unit: "timestamp_seconds", "When a sync of the source last ended ok (0: never).", [label])
                .set(to: source.lastSuccessAt?.timeIntervalSince1970 ?? 0)
            guard let run = source.lastRun else { continue }
            for outcome in SyncOutcome.allCases {
                gauge(
                    "last_run_outcome", unit: "", "1 for the outcome of the source's last sync run, 0 for the others.",
                    [
                        label, ("outcome", outcome.rawValue),
                    ]
                ).set(to: run.outcome == outcome ? 1 : 0)
            }
            gauge("last_run_id", unit: "", "The sync_runs.id of the source's last run.", [label]).set(to: Double(run.id))
            if let started = run.startedAt {
                gauge("last_run_start", unit: "timestamp_seconds", "When the source's last sync run started.", [label])
                    .set(to: started.timeIntervalSince1970)
            }
            if let finished = run.finishedAt {
                gauge("last_run_finish", unit: "timestamp_seconds", "When the source's last sync run finished.", [label])
                    .set(to: finished.timeIntervalSince1970)
            }
            if let elapsed = run.elapsedSeconds {
                gauge("last_run_duration", unit: "seconds", "How long the source's last sync run took.", [label]).set(to: elapsed)
            }
            let counts = run.counts
            let states: [(String, Int)] = [
                ("seen", counts.seen), ("new", counts.new), ("changed", counts.changed), ("unchanged", counts.unchanged),
                ("gone", counts.gone), ("back", counts.back), ("replaced", counts.replaced),
            ]
            for (state, count) in states {
                gauge(
                    "last_run_streams", unit: "", "Streams of the source's last sync run, by what the run found.",
                    [
                        label, ("state", state),
                    ]
                ).set(to: Double(count))
            }
            gauge("last_run_errors", unit: "", "Errors recorded by the source's last sync run (streamdb runs lists them).", [label])
                .set(to: Double(counts.errors))
            for error in source.errorsByKind {
                gauge(
                    "last_run_errors_by_kind", unit: "", "Errors of the source's last sync run, by sync_errors.kind.",
                    [
                        label, ("kind", error.kind),
                    ]
                ).set(to: Double(error.count))
            }
        }
        return registry.emitToString()
    }
}

/// Writes a file so that a reader sees the old contents or the new, never part of them: a
/// temporary file in the same folder, flushed to disk, then renamed over the target.
public enum AtomicFile {
    /// - Throws: ``OutputError`` naming the file and the system's reason.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appending(path: ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw OutputError("cannot write \(path): \(String(cString: strerror(errno))).") }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw OutputError("cannot write \(path): \(reason).")
            }
            written += n
        }
        bytes.removeAll()
        fchmod(fd, mode)
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputError("cannot write \(path): \(reason).")
        }
    }
}

/// A file the output could not be written to.
public struct OutputError: StreamDBError {
    public let message: String
    public var exitStatus: ExitStatus { .failed }
    public init(_ message: String) { self.message = message }
}
