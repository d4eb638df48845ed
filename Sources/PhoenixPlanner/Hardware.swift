import Foundation

/// PhoenixPlanner/Hardware.swift. One accelerator as the catalogue (`Resources/hardware.json`) describes it.
/// Figures are per chip: dense peak FLOP/s, memory, the scale-up link inside a node or rack, the scale-out
/// network between them. Every entry names its source document.
public struct PlannerHardware: Sendable, Codable, Equatable {
    /// A link class as the alpha-beta model sees it: per-direction bandwidth per chip, one-message latency.
    public struct Link: Sendable, Codable, Equatable {
        public var name: String
        public var bandwidthBytesPerSecond: Double
        public var latencySeconds: Double
        /// Chips reachable over this link without leaving it (the NVLink domain, the node).
        public var domain: Int
    }

    public var name: String
    public var vendor: String
    /// Dense TFLOP/s by precision name (`bf16`, `fp8`, ...).
    public var teraflops: [String: Double]
    public var memoryBytes: Double
    public var memoryBandwidthBytesPerSecond: Double
    public var hostMemoryBytes: Double?
    public var scaleUp: Link
    public var scaleOut: Link
    public var node: String
    public var topology: String
    public var source: String

    /// Peak dense FLOP/s at `precision`; throws naming the precisions the chip has.
    public func peakFlopsPerSecond(_ precision: String) throws -> Double {
        guard let tf = teraflops[precision] else {
            throw PlannerError.invalid("\(name) has no \(precision) figure; it has \(teraflops.keys.sorted().joined(separator: ", "))")
        }
        return tf * 1e12
    }

    /// Chips per scale-up domain; collectives inside it use `scaleUp`, across it `scaleOut`.
    public var gpusPerNode: Int { scaleUp.domain }
}

/// The hardware catalogue: every accelerator the planner knows, loaded once from the bundled JSON.
public enum HardwareCatalogue {
    public static let all: [PlannerHardware] = {
        guard let url = Bundle.module.url(forResource: "hardware", withExtension: "json", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "hardware", withExtension: "json"),
              let data = try? Data(contentsOf: url),
              let file = try? JSONDecoder().decode(CatalogueFile.self, from: data) else { return [] }
        return file.accelerators.map(\.hardware)
    }()

    /// The entry called `name` (case-insensitive); the error lists the catalogue.
    public static func named(_ name: String) throws -> PlannerHardware {
        if let hit = all.first(where: { $0.name.lowercased() == name.lowercased() }) { return hit }
        throw PlannerError.invalid(
            "unknown hardware \"\(name)\"; the catalogue has: \(all.map(\.name).joined(separator: ", ")) (see `phoenix plan hardware`)")
    }
}

// MARK: - File format (snake_case, units in the key names)

private struct CatalogueFile: Decodable {
    var accelerators: [Entry]

    struct Entry: Decodable {
        var name, vendor, node, topology, source: String
        var tflops: [String: Double]
        var memory_gb, memory_bandwidth_gbps: Double
        var host_memory_gb: Double?
        var scale_up: ScaleUp
        var scale_out: ScaleOut

        var hardware: PlannerHardware {
            PlannerHardware(
                name: name, vendor: vendor, teraflops: tflops, memoryBytes: memory_gb * 1e9,
                memoryBandwidthBytesPerSecond: memory_bandwidth_gbps * 1e9, hostMemoryBytes: host_memory_gb.map { $0 * 1e9 },
                scaleUp: .init(name: scale_up.name, bandwidthBytesPerSecond: scale_up.bandwidth_gbps * 1e9,
                               latencySeconds: scale_up.latency_us * 1e-6, domain: scale_up.domain),
                scaleOut: .init(name: scale_out.name, bandwidthBytesPerSecond: scale_out.bandwidth_gbitps * 1e9 / 8,
                                latencySeconds: scale_out.latency_us * 1e-6, domain: Int.max),
                node: node, topology: topology, source: source)
        }
    }
    struct ScaleUp: Decodable { var name: String; var bandwidth_gbps, latency_us: Double; var domain: Int }
    struct ScaleOut: Decodable { var name: String; var bandwidth_gbitps, latency_us: Double }
}

/// Bad input to the planner: the message says what to change.
public enum PlannerError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { switch self { case .invalid(let m): m } }
}
