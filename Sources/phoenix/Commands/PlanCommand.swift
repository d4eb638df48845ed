import ArgumentParser
import Foundation
import PhoenixPlanner

/// `phoenix plan`: the planner. Each subcommand reads its flags into a library value and calls one
/// `PlanCommandOutput` function; bad input comes back as a message saying what to change.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan training and serving on hardware you do not have: speed, memory, parallelism, schedules.",
        subcommands: [PlanTrainCommand.self, PlanServeCommand.self, PlanScheduleCommand.self, PlanHardwareCommand.self])
}

/// Runs `body`, printing its output, or the planner's message and a non-zero exit on bad input.
func runPlanner(_ body: () throws -> String) throws {
    do { print(try body()) } catch let error as PlannerError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(2)
    }
}

func readSpec(_ path: String) throws -> Data {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw PlannerError.invalid("cannot read the spec file \(path)")
    }
    return data
}

struct PlanTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "The fastest training configuration that fits, with runners-up (spec: docs/planner.md).")
    @Option(help: "JSON spec: model, system, training, parallelism (fields left out are searched).") var spec: String
    @Flag(help: "Print JSON instead of a table.") var json = false
    func run() throws { try runPlanner { try PlanCommandOutput.train(spec: try readSpec(spec), json: json) } }
}

struct PlanServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serving latency, throughput, memory and goodput (spec: docs/planner.md).")
    @Option(help: "JSON spec: model, system, serving, parallelism.") var spec: String
    @Flag(help: "Print JSON instead of a table.") var json = false
    func run() throws { try runPlanner { try PlanCommandOutput.serve(spec: try readSpec(spec), json: json) } }
}

struct PlanScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Generate a pipeline schedule's timeline and its bubble rate.")
    @Option(help: "gpipe, 1f1b, interleaved-1f1b, breadth-first, chimera, zb-h1, zb-h2, zb-v.") var schedule: String
    @Option(help: "Pipeline stages (devices).") var stages: Int
    @Option(help: "Microbatches per iteration.") var microbatches: Int
    @Option(name: .customLong("virtual-stages"), help: "Chunks per device for looped schedules.") var virtualStages = 2
    @Option(help: "Forward time of one stage.") var forward = 1.0
    @Option(name: .customLong("backward-input"), help: "Input-gradient time (B).") var backwardInput = 1.0
    @Option(name: .customLong("backward-weight"), help: "Weight-gradient time (W).") var backwardWeight = 1.0
    @Option(help: "Point-to-point time between stages.") var communication = 0.0
    @Option(help: "Also draw the timeline into this SVG file.") var svg: String?
    @Flag(help: "Print JSON instead of a table.") var json = false
    func run() throws {
        try runPlanner {
            let times = StageTimes(forward: forward, backwardInput: backwardInput, backwardWeight: backwardWeight,
                                   communication: communication)
            let (text, timeline) = try PlanCommandOutput.schedule(
                name: schedule, stages: stages, microbatches: microbatches, virtualStages: virtualStages, times: times, json: json)
            if let svg {
                guard FileManager.default.createFile(atPath: svg, contents: Data(timeline.svg().utf8)) else {
                    throw PlannerError.invalid("cannot write \(svg)")
                }
            }
            return text
        }
    }
}

struct PlanHardwareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hardware", abstract: "List the hardware catalogue.")
    @Flag(help: "Print JSON (with every figure's source) instead of a table.") var json = false
    func run() throws { try runPlanner { try PlanCommandOutput.hardware(json: json) } }
}
