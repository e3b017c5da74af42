/// streamdb's own version, recorded in `sync_runs` and sent as the User-Agent.
public enum StreamDBVersion {
    public static let current = "0.1.0"
}
