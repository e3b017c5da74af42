import Foundation
import NIOConcurrencyHelpers

/// The simulated platform's streams, and how they change over time.
///
/// Everything the fleet holds follows from its seed and the calls made on it: the same seed and
/// the same ticks give the same streams, statuses, configs and regions (only `updated_at` comes
/// from the clock, as on a real server). Thread-safe: the HTTP server reads it while tests or the
/// control route change it.
public final class Fleet: Sendable {
    /// Status codes the simulated server uses, with the names the vendor's newer API reports.
    public static let statusNames: [Int: String] = [
        1: "CREATED", 2: "UPDATED", 3: "PENDING", 4: "PREPARED", 5: "WAITING IMAGES", 6: "DOWN",
        7: "TO REPLACE", 8: "PAUSE", 9: "UNPAUSE", 10: "IN_PAUSE", 11: "WORKING",
    ]

    private struct State {
        var random: SimRandom
        var streams: [SimStream] = []
        var index: [String: Int] = [:]
        var nextID = 1
        var ticks = 0
        /// The number of live streams the fleet keeps to: births replace deaths.
        var size = 0
        /// The share of config edits made the platform's way: delete the job, create a new one.
        var replaceOnUpdate = 0.0
        /// Every replacement made, old job_uid -> new, in order.
        var replacements: [(old: String, new: String)] = []
    }

    private let state: NIOLockedValueBox<State>
    private let clock: @Sendable () -> Date

    /// A fleet of `size` streams generated from `seed`.
    /// - Parameter replaceOnUpdate: the share (0...1) of config edits made as the platform makes
    ///   them: the job is deleted and a new job_uid with the same camera stream and case type is
    ///   created with the edited config.
    public init(size: Int, seed: UInt64, replaceOnUpdate: Double = 0, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
        var s = State(random: SimRandom(seed: seed))
        s.size = size
        s.replaceOnUpdate = replaceOnUpdate
        for _ in 0..<size {
            Self.create(in: &s, now: clock())
        }
        state = NIOLockedValueBox(s)
    }

    // MARK: - Reading

    /// The streams the server has now (not deleted), in id order.
    public var liveStreams: [SimStream] {
        state.withLockedValue { $0.streams.filter { !$0.deleted } }
    }

    /// One stream, deleted or not; nil for a uid the fleet never had.
    public func stream(_ jobUID: String) -> SimStream? {
        state.withLockedValue { s in s.index[jobUID].map { s.streams[$0] } }
    }

    /// How many ticks the fleet has gone through.
    public var ticks: Int { state.withLockedValue { $0.ticks } }

    /// The JSON of `count` live streams starting at `offset`, and how many live streams there are.
    func page(offset: Int, count: Int) -> (items: [String], total: Int) {
        state.withLockedValue { s in
            var items: [String] = []
            items.reserveCapacity(min(count, 1000))
            var total = 0
            for stream in s.streams where !stream.deleted {
                if total >= offset && items.count < count { items.append(stream.json) }
                total += 1
            }
            return (items, total)
        }
    }

    /// The JSON of one live stream.
    func detail(_ jobUID: String) -> String? {
        state.withLockedValue { s in
            guard let i = s.index[jobUID], !s.streams[i].deleted else { return nil }
            return s.streams[i].json
        }
    }

    // MARK: - Changing

    /// What one tick changed, for logs and the control route.
    public struct TickSummary: Sendable, Codable {
        public var statusChanges = 0
        public var configEdits = 0
        public var regionMoves = 0
        public var touches = 0
        public var created = 0
        public var deleted = 0
        public var restored = 0
        /// Config edits made by replacing the job (delete + create).
        public var replaced = 0
    }

    /// Moves the fleet forward one step: some statuses change, some configs are edited, some
    /// streams move region or are only touched (updated_at), a few are deleted, created or come
    /// back.
    /// A camera URL: plain, with a password, or with an access token in the query string.
    static func cameraURL(id: Int, streamUID: String, random: inout SimRandom) -> String {
        let kind = random.unit()
        if kind < 0.33 { return "rtsp://admin:cam\(random.int(1000...9999))pw@cam-\(id).video.local:554/live" }
        if kind < 0.66 { return "rtsp://vms.video.local:4554/live/\(streamUID)/?token=\(token(&random))" }
        return "rtsp://cam-\(id).video.local:554/live"
    }

    /// A VMS access token as the vendor's example spells one: letters, digits, `-` and `~`.
    static func token(_ random: inout SimRandom) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
        return String((0..<24).map { _ in alphabet[random.int(0...(alphabet.count - 1))] }) + "~~"
    }

    /// Gives a camera that carries a token a new one.
    static func rotateToken(_ stream: inout SimStream, random: inout SimRandom) {
        guard let marker = stream.config.url.range(of: "?token=") else { return }
        stream.config.url = String(stream.config.url[..<marker.upperBound]) + token(&random)
    }

    @discardableResult
    public func tick() -> TickSummary {
        let now = clock()
        return state.withLockedValue { s in
            s.ticks += 1
            var summary = TickSummary()
            let count = s.streams.count
            for i in 0..<count where !s.streams[i].deleted {
                let r = s.random.unit()
                if r < 0.08 {
                    Self.changeStatus(&s.streams[i], random: &s.random)
                    summary.statusChanges += 1
                } else if r < 0.11 {
                    // Only a fleet that replaces draws for it: other fleets keep their sequence.
                    if s.replaceOnUpdate > 0, s.random.chance(s.replaceOnUpdate) {
                        Self.replace(i, in: &s, now: now)
                        summary.replaced += 1
                        continue
                    }
                    Self.editConfig(&s.streams[i], random: &s.random)
                    summary.configEdits += 1
                } else if r < 0.12 {
                    s.streams[i].regions = [s.random.pick(SimRegion.all)]
                    summary.regionMoves += 1
                } else if r < 0.17 {
                    // A touch moves updated_at; a camera with a token gets a fresh one (the VMS
                    // rotates them), which a mirror that masks it does not see as a change.
                    Self.rotateToken(&s.streams[i], random: &s.random)
                    summary.touches += 1
                } else {
                    continue
                }
                Self.changed(&s.streams[i], now: now)
            }
            // About 1 % of the live streams are deleted, one deleted stream may come back, and new
            // ones replace the rest, with now and then one more: the fleet stays near its size
            // however long it runs.
            let live = s.streams.indices.filter { !s.streams[$0].deleted }
            for _ in 0..<(live.count / 100) {
                let i = live[s.random.int(0...(live.count - 1))]
                if !s.streams[i].deleted {
                    s.streams[i].deleted = true
                    summary.deleted += 1
                }
            }
            if let gone = s.streams.indices.filter({ s.streams[$0].deleted }).first, s.random.chance(0.3) {
                s.streams[gone].deleted = false
                Self.changed(&s.streams[gone], now: now)
                summary.restored += 1
            }
            let liveNow = live.count - summary.deleted + summary.restored
            let creations = max(s.size - liveNow, 0) + (s.random.chance(0.5) ? 1 : 0)
            for _ in 0..<creations {
                Self.create(in: &s, now: now)
                summary.created += 1
            }
            return summary
        }
    }

    /// Sets a stream's status (a job's life cycle step).
    public func setStatus(_ jobUID: String, _ status: Int) { mutate(jobUID) { $0.status = status } }

    /// Changes the detector threshold (an operator's config edit).
    public func setThreshold(_ jobUID: String, _ threshold: Int) { mutate(jobUID) { $0.config.threshold = threshold } }

    /// Gives the stream's camera a new access token (when its URL carries one), as the VMS does.
    public func rotateToken(_ jobUID: String) {
        let token = state.withLockedValue { s in Self.token(&s.random) }
        mutate(jobUID) { stream in
            guard let marker = stream.config.url.range(of: "?token=") else { return }
            stream.config.url = String(stream.config.url[..<marker.upperBound]) + token
        }
    }

    /// Replaces the detection areas.
    public func setAreas(_ jobUID: String, _ areas: [SimArea]) { mutate(jobUID) { $0.config.areas = areas } }

    /// Moves a stream to other regions.
    public func setRegions(_ jobUID: String, _ regions: [SimRegion]) { mutate(jobUID) { $0.regions = regions } }

    /// Moves `updated_at` and nothing else.
    public func touch(_ jobUID: String) { mutate(jobUID) { _ in } }

    /// Deletes a stream: from now on it answers 404 and leaves the list.
    public func delete(_ jobUID: String) {
        state.withLockedValue { s in
            if let i = s.index[jobUID] { s.streams[i].deleted = true }
        }
    }

    /// Brings a deleted stream back, unchanged but for updated_at.
    public func restore(_ jobUID: String) {
        let now = clock()
        state.withLockedValue { s in
            guard let i = s.index[jobUID] else { return }
            s.streams[i].deleted = false
            Self.changed(&s.streams[i], now: now)
        }
    }

    /// Every replacement the fleet made, old job_uid -> new, in order.
    public var replacements: [(old: String, new: String)] { state.withLockedValue { $0.replacements } }

    /// Edits a stream's config the platform's way: deletes the job and creates a new one with the
    /// same camera stream and case type and the edited config; returns the new job_uid.
    @discardableResult
    public func replace(_ jobUID: String) -> String? {
        let now = clock()
        return state.withLockedValue { s in
            guard let i = s.index[jobUID], !s.streams[i].deleted else { return nil }
            return Self.replace(i, in: &s, now: now)
        }
    }

    @discardableResult
    private static func replace(_ i: Int, in s: inout State, now: Date) -> String {
        let old = s.streams[i]
        s.streams[i].deleted = true
        var config = old.config
        var random = s.random
        var edited = old
        editConfig(&edited, random: &random)
        config = edited.config
        let jobUID = random.uuid()
        s.random = random
        let id = s.nextID + 400
        s.nextID += 1
        var stream = SimStream(
            id: id, jobUID: jobUID, regions: old.regions, status: 1, streamUID: old.streamUID,
            cameraGroupUID: old.cameraGroupUID, caseType: old.caseType, createdAt: drfTime(now), updatedAt: drfTime(now),
            ovmsClient: old.ovmsClient, config: config)
        stream.render()
        s.index[jobUID] = s.streams.count
        s.streams.append(stream)
        s.replacements.append((old.jobUID, jobUID))
        return jobUID
    }

    /// Adds a new stream; returns its job_uid.
    @discardableResult
    public func create() -> String {
        let now = clock()
        return state.withLockedValue { s in Self.create(in: &s, now: now) }
    }

    private func mutate(_ jobUID: String, _ change: (inout SimStream) -> Void) {
        let now = clock()
        state.withLockedValue { s in
            guard let i = s.index[jobUID] else { return }
            change(&s.streams[i])
            Self.changed(&s.streams[i], now: now)
        }
    }

    // MARK: - Generation

    private static func changed(_ stream: inout SimStream, now: Date) {
        stream.updatedAt = drfTime(now)
        stream.render()
    }

    private static func changeStatus(_ stream: inout SimStream, random: inout SimRandom) {
        var next = stream.status
        while next == stream.status {
            next = random.chance(0.5) ? 11 : random.pick([1, 3, 4, 5, 6, 6, 6, 8, 10])
        }
        stream.status = next
    }

    private static func editConfig(_ stream: inout SimStream, random: inout SimRandom) {
        switch random.int(0...3) {
        case 0: stream.config.threshold = random.int(100...900)
        case 1: stream.config.fps = random.pick([1, 2, 5, 10, 15, 25])
        case 2:
            if stream.config.areas.count < 4 {
                stream.config.areas.append(randomArea(id: "area_part_\(stream.config.areas.count + 1)", random: &random))
            } else {
                stream.config.areas.removeLast()
            }
        default:
            if !stream.config.areas.isEmpty {
                let i = random.int(0...(stream.config.areas.count - 1))
                stream.config.areas[i] = randomArea(id: stream.config.areas[i].id, random: &random)
            }
        }
    }

    static func randomArea(id: String, random: inout SimRandom) -> SimArea {
        let points = random.int(4...6)
        let shape = (0..<points).map { _ in [round2(random.unit()), round2(random.unit())] }
        return SimArea(id: id, shape: shape)
    }

    @discardableResult
    private static func create(in s: inout State, now: Date) -> String {
        var random = s.random
        defer { s.random = random }
        let id = s.nextID + 400
        s.nextID += 1
        let caseType = random.pick(SimCaseType.allCases)
        let regionCount = random.chance(0.05) ? 0 : (random.chance(0.1) ? 2 : 1)
        var regions: [SimRegion] = []
        while regions.count < regionCount {
            let region = random.pick(SimRegion.all)
            if !regions.contains(region) { regions.append(region) }
        }
        let jobUID = random.uuid()
        let streamUID = random.uuid()
        let cameraGroupUID = random.uuid()
        // Created some time in 2024, deterministically from the seed.
        let created = Date(timeIntervalSince1970: 1_704_067_200 + Double(random.int(0...(300 * 86_400))))
        let updated = created.addingTimeInterval(Double(random.int(0...(30 * 86_400))))
        let areaCount = caseType == .lineIntersection ? random.int(0...1) : random.int(1...3)
        let config = SimConfig(
            // A third of the cameras carry a password in their URL, as real deployments often do,
            // and a third the VMS's access token in its query string, as the vendor's own example.
            url: Self.cameraURL(id: id, streamUID: streamUID, random: &random),
            fps: random.pick([5, 5, 5, 10, 15, 25]),
            encoding: "none",
            frequencyMs: random.pick([200, 500, 1000]),
            threshold: random.int(100...900),
            objectMax: [400, 400],
            maxCountObject: random.int(1...5),
            maxTrackObject: 8,
            fullFrameFrequency: 5,
            areas: (0..<areaCount).map { randomArea(id: "area_part_\($0 + 1)", random: &random) },
            fences: caseType == .lineIntersection
                ? [[[round2(random.unit()), round2(random.unit())], [round2(random.unit()), round2(random.unit())]]]
                : [],
            collections: caseType == .faceRecognition ? ["staff", "wanted"].filter { _ in random.chance(0.7) } : [])
        var stream = SimStream(
            id: id, jobUID: jobUID, regions: regions, status: random.chance(0.8) ? 11 : random.pick([1, 3, 6, 8]),
            streamUID: streamUID, cameraGroupUID: cameraGroupUID, caseType: caseType,
            createdAt: drfTime(created), updatedAt: drfTime(s.ticks == 0 ? updated : now),
            ovmsClient: random.chance(0.9) ? random.int(300...399) : nil, config: config)
        stream.render()
        s.index[jobUID] = s.streams.count
        s.streams.append(stream)
        return jobUID
    }
}

private func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }

/// A time as DRF renders it: UTC, microseconds, the fraction left out when it is zero.
func drfTime(_ date: Date) -> String {
    let interval = date.timeIntervalSince1970
    var seconds = time_t(interval.rounded(.down))
    let micros = min(999_999, Int(((interval - Double(seconds)) * 1_000_000).rounded()))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let base = String(
        format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
        Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    return micros == 0 ? base + "Z" : base + String(format: ".%06dZ", micros)
}
