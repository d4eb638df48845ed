import Testing
@testable import PhoenixPlanner

@Suite struct HardwareCatalogueTests {
    @Test func everyEntryIsCompleteAndSourced() {
        let names = HardwareCatalogue.all.map(\.name)
        for required in ["h100-sxm", "h100-pcie", "h200-sxm", "b200", "gb200", "gh200", "a100-sxm-80gb", "mi300x",
                         "gaudi3", "tpu-v4", "trainium2"] {
            #expect(names.contains(required), "missing \(required)")
        }
        for h in HardwareCatalogue.all {
            #expect(h.teraflops["bf16"] != nil && h.memoryBytes > 0 && h.memoryBandwidthBytesPerSecond > 0, "\(h.name)")
            #expect(h.source.count > 20, "\(h.name) has no source")
        }
    }

    // Datasheet figures (NVIDIA H100 datasheet, SXM: 989 TFLOPS BF16 dense, 80 GB, 3.35 TB/s;
    // AMD MI300X datasheet: 1307.4 TFLOPS BF16 dense, 192 GB, 5.3 TB/s).
    @Test func datasheetFigures() throws {
        let h100 = try HardwareCatalogue.named("H100-SXM")
        #expect(try h100.peakFlopsPerSecond("bf16") == 989.4e12)
        #expect(h100.memoryBytes == 80e9 && h100.memoryBandwidthBytesPerSecond == 3350e9)
        let mi300x = try HardwareCatalogue.named("mi300x")
        #expect(try mi300x.peakFlopsPerSecond("bf16") == 1307.4e12 && mi300x.memoryBytes == 192e9)
        #expect(throws: PlannerError.self) { try HardwareCatalogue.named("tpu-v4").peakFlopsPerSecond("fp8") }
    }
}
