import Foundation

/// One analytics job as the simulated server holds it.
public struct SimStream: Sendable {
    public let id: Int
    public let jobUID: String
    public var regions: [SimRegion]
    public var status: Int
    public let streamUID: String
    public let cameraGroupUID: String
    public let caseType: SimCaseType
    public let createdAt: String
    public var updatedAt: String
    public var ovmsClient: Int?
    public var config: SimConfig
    public var deleted = false

    /// The JSON object the detail route serves, rendered once per change.
    public internal(set) var json: String = ""

    mutating func render() {
        let platform = config.platformJSON(caseType: caseType, cameraGroupUID: cameraGroupUID, sourceUID: streamUID)
        let binary = String(platform.dropLast()) + ", \"JobUid\": \"\(jobUID)\"}"
        let regionList = regions.map { "{\"id\": \($0.id), \"title\": \(jsonString($0.title))}" }.joined(separator: ", ")
        json = """
            {"id": \(id), "regions": [\(regionList)], "job_uid": "\(jobUID)", \
            "platform_json": \(jsonString(platform)), "binary_json": \(jsonString(binary)), \
            "status": \(status), "stream_uid": "\(streamUID)", "camera_group_uid": "\(cameraGroupUID)", \
            "created_at": "\(createdAt)", "updated_at": "\(updatedAt)", \
            "ovms_client": \(ovmsClient.map(String.init) ?? "null"), "stream_case_type": \(caseType.code)}
            """
    }
}

public struct SimRegion: Sendable, Hashable {
    public let id: Int
    public let title: String

    public init(id: Int, title: String) {
        self.id = id
        self.title = title
    }

    /// The regions the simulated platform serves.
    public static let all: [SimRegion] = [
        "minsk", "gomel", "brest", "vitebsk", "grodno", "mogilev", "baranovichi", "pinsk",
    ].enumerated().map { SimRegion(id: $0.offset + 1, title: $0.element) }
}

/// The analytics case a job runs, with the server's integer code for it.
public enum SimCaseType: String, Sendable, CaseIterable {
    case faceRecognition = "face-recognition"
    case motionDetect = "motion-detect"
    case lineIntersection = "line-intersection"

    public var code: Int {
        switch self {
        case .faceRecognition: return 1
        case .motionDetect: return 2
        case .lineIntersection: return 3
        }
    }
}

/// A detection area: a polygon with normalised coordinates.
public struct SimArea: Sendable, Equatable {
    public var id: String
    public var shape: [[Double]]

    public init(id: String, shape: [[Double]]) {
        self.id = id
        self.shape = shape
    }
}

/// The pipeline config inside `platform_json`.
public struct SimConfig: Sendable {
    public var url: String
    public var fps: Int
    public var encoding: String
    public var frequencyMs: Int
    public var threshold: Int
    public var objectMax: [Int]
    public var maxCountObject: Int
    public var maxTrackObject: Int
    public var fullFrameFrequency: Int
    public var areas: [SimArea]
    /// Lines for line intersection, as `[[x1, y1], [x2, y2]]`.
    public var fences: [[[Double]]]
    /// Face collections, for face recognition.
    public var collections: [String]

    /// Rendered the way the real server's Python does it: `json.dumps` with ", " and ": ".
    func platformJSON(caseType: SimCaseType, cameraGroupUID: String, sourceUID: String) -> String {
        func point(_ p: [Double]) -> String { "[" + p.map(number).joined(separator: ", ") + "]" }
        let areaList = areas.map { area in
            "{\"Id\": \(jsonString(area.id)), \"Shape\": [\(area.shape.map(point).joined(separator: ", "))]}"
        }.joined(separator: ", ")
        let fenceList = fences.enumerated().map { index, line in
            "{\"Id\": \"fence_\(index + 1)\", \"Line\": [\(line.map(point).joined(separator: ", "))]}"
        }.joined(separator: ", ")
        var pipeline =
            "\"Processing\": {}, \"ConfigPath\": \"\", \"Events\": {\"FrequencyMs\": \(frequencyMs)}, "
            + "\"Detector\": {\"Threshold\": \(threshold)}, "
            + "\"Watcher\": {\"ObjectMax\": [\(objectMax.map(String.init).joined(separator: ", "))], "
            + "\"MaxCountObject\": \(maxCountObject), \"Expansion\": 1, \"MaxTrackObject\": \(maxTrackObject), "
            + "\"FullFrameFrequency\": \(fullFrameFrequency)}, \"Fences\": [\(fenceList)], \"Areas\": [\(areaList)]"
        if caseType == .faceRecognition {
            pipeline += ", \"Collections\": [\(collections.map(jsonString).joined(separator: ", "))]"
        }
        return "{\"CaseType\": \"\(caseType.rawValue)\", \"CameraGroupUid\": \"\(cameraGroupUID)\", "
            + "\"Source\": {\"Uid\": \"\(sourceUID)\", \"Url\": \(jsonString(url)), \"Output\": {\"Encoding\": \"\(encoding)\", \"FPS\": \(fps)}}, "
            + "\"CallbackUrl\": \"\", \"Pipeline\": {\(pipeline)}}"
    }
}

/// A number as Python prints it: integers without a fraction, others in shortest form.
func number(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
