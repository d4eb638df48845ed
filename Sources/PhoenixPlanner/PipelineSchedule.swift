/// PhoenixPlanner/PipelineSchedule.swift. Pipeline schedules as generated timelines: every forward (F),
/// input-gradient backward (B) and weight-gradient backward (W) of every microbatch on every device, with
/// start and end times. Bubble rate and peak activation memory are read off the timeline.
///
/// Two generators. A replay of a fixed per-device order, each op starting as soon as its inputs have arrived
/// (a neighbour's output lands `communication` after it ends): GPipe's fill-drain, Megatron's interleaved
/// 1F1B, breadth-first, the handcrafted ZB-H1 and ZB-H2 of Qi et al. 2024 (Section 2) and Chimera's merged
/// bidirectional slots (Li & Hoefler 2021). And a greedy list scheduler: when a device is free it runs a
/// ready B, else a ready F if its activation memory allows, else a pending W; 1F1B and ZB-V use it, with
/// their memory limits and stage placements. Replayed with the stage times Qi et al. profiled (Appendix D),
/// 1F1B, ZB-H1 and ZB-H2 give their Table 5 bubble rates to the printed digits.
public enum PipelineScheduleKind: String, Sendable, CaseIterable, Codable {
    case gpipe, oneFOneB = "1f1b", interleaved = "interleaved-1f1b", breadthFirst = "breadth-first"
    case chimera, zbH1 = "zb-h1", zbH2 = "zb-h2", zbV = "zb-v"

    public static func named(_ name: String) throws -> Self {
        if let kind = Self(rawValue: name.lowercased()) { return kind }
        throw PlannerError.invalid("unknown schedule \"\(name)\"; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
    }

    /// Model chunks per device: 2 for ZB-V (the V), `virtualStages` for looped schedules, else 1.
    public func chunksPerDevice(virtualStages: Int) -> Int {
        switch self {
        case .zbV: 2
        case .interleaved, .breadthFirst: max(1, virtualStages)
        default: 1
        }
    }

    /// Whether the backward pass is split into B and W (the zero-bubble family).
    public var splitsBackward: Bool { self == .zbH1 || self == .zbH2 || self == .zbV }
}

/// Per-microbatch times of one stage holding 1/p of the model (a chunk of a looped schedule takes 1/v of it).
public struct StageTimes: Sendable, Equatable {
    public var forward: Double
    public var backwardInput: Double
    public var backwardWeight: Double
    /// Point-to-point transfer between neighbouring devices.
    public var communication: Double
    public init(forward: Double, backwardInput: Double, backwardWeight: Double, communication: Double = 0) {
        self.forward = forward
        self.backwardInput = backwardInput
        self.backwardWeight = backwardWeight
        self.communication = communication
    }
    /// F = B = W = 1, no communication: the unit times of the papers' figures.
    public static let unit = StageTimes(forward: 1, backwardInput: 1, backwardWeight: 1)
}

public struct PipelineOp: Sendable, Equatable {
    public enum Kind: String, Sendable { case forward = "F", backward = "B", weight = "W", fullBackward = "BW" }
    public var kind: Kind
    public var microbatch: Int
    /// Position along the model (0 ..< devices x chunks); for Chimera, within its own pipeline.
    public var stage: Int
    /// Chimera's second (upward) pipeline is replica 1.
    public var replica: Int
    public var device: Int
    public var start: Double
    public var end: Double
}

/// A generated schedule: ops per device in execution order, with the figures read off it.
public struct PipelineTimeline: Sendable {
    public var kind: PipelineScheduleKind
    public var devices: Int
    public var microbatches: Int
    public var chunksPerDevice: Int
    public var ops: [[PipelineOp]]
    /// Peak live activations per device, in units of one microbatch's activations for a 1/p slice of the model.
    public var peakActivations: [Double]

    /// Iteration time: the longest span from a device's first op to its last. Devices start and finish
    /// staggered; in steady training each runs its optimizer step and the next iteration's forwards as soon as
    /// its own work ends (Qi et al. 2024, Section 4 and Figure 3), so a device's span is its iteration time.
    public var makespan: Double {
        ops.map { ($0.last?.end ?? 0) - ($0.first?.start ?? 0) }.max() ?? 0
    }
    /// Busy time of the most loaded device.
    public var busiest: Double { ops.map { $0.reduce(0) { $0 + $1.end - $1.start } }.max() ?? 0 }
    /// Idle fraction of the iteration (Qi et al. 2024, Section 5.1: bubble rate =
    /// (cost - m (T_F + T_B + T_W)) / cost), averaged over devices.
    public var bubbleRate: Double {
        let span = makespan
        guard span > 0 else { return 0 }
        let busy = ops.reduce(0) { $0 + $1.reduce(0) { $0 + $1.end - $1.start } }
        return 1 - busy / (span * Double(devices))
    }
    public var peakActivationUnits: Double { peakActivations.max() ?? 0 }
}

extension PipelineTimeline {
    /// Generate `kind` over `devices` devices and `microbatches` microbatches.
    public static func generate(_ kind: PipelineScheduleKind, devices p: Int, microbatches m: Int,
                                virtualStages: Int = 2, times: StageTimes = .unit) throws -> PipelineTimeline {
        guard p >= 1 else { throw PlannerError.invalid("a pipeline needs at least 1 stage, got \(p)") }
        guard m >= 1 else { throw PlannerError.invalid("a pipeline needs at least 1 microbatch, got \(m)") }
        let v = kind.chunksPerDevice(virtualStages: virtualStages)
        switch kind {
        case .gpipe:
            return try replay(kind, p: p, m: m, v: 1, times: times, order: fillDrainOrder(p: p, m: m, v: 1))
        case .breadthFirst:
            return try replay(kind, p: p, m: m, v: v, times: times, order: fillDrainOrder(p: p, m: m, v: v))
        case .interleaved:
            guard m % p == 0 else {
                throw PlannerError.invalid("interleaved 1F1B needs microbatches (\(m)) to be a multiple of stages (\(p))")
            }
            return try replay(kind, p: p, m: m, v: v, times: times, order: interleavedOrder(p: p, m: m, v: v))
        case .oneFOneB:   // device d warms up with p - d - 1 forwards, then alternates
            return greedy(kind, p: p, m: m, v: 1, times: times, replicas: 1, limit: { Limit(beforeBackward: Double(p - $0), beforeWeight: Double(p - $0)) })
        case .zbH1:   // p - d warm-up forwards; W lags B by d rounds; peak p M_B
            return try replay(kind, p: p, m: m, v: 1, times: times,
                              order: handcraftedOrder(p: p, m: m, warmup: { p - $0 }, weightLag: { $0 }))
        case .zbH2:   // 2(p - d) - 1 warm-up forwards cover the first backward's round trip; W lags by 2d; peak (2p - 1) M_B
            return try replay(kind, p: p, m: m, v: 1, times: times,
                              order: handcraftedOrder(p: p, m: m, warmup: { 2 * (p - $0) - 1 }, weightLag: { 2 * $0 }))
        case .zbV:    // two chunks in a V; the peak of 1F1B, p M_B, on every device
            return greedy(kind, p: p, m: m, v: 2, times: times, replicas: 1, limit: { _ in Limit(beforeBackward: Double(p), beforeWeight: Double(p)) })
        case .chimera:
            guard p % 2 == 0, m % 2 == 0 else {
                throw PlannerError.invalid("Chimera needs an even number of stages and microbatches, got \(p) and \(m)")
            }
            return try replay(kind, p: p, m: m, v: 1, times: times, order: chimeraOrder(p: p, m: m))
        }
    }

    // MARK: - Placement and dependencies

    /// Device holding `stage` (0 ..< p*v): looped placement for interleaved/breadth-first, V for ZB-V,
    /// and Chimera's upward replica reversed.
    static func device(kind: PipelineScheduleKind, stage: Int, replica: Int, p: Int) -> Int {
        switch kind {
        case .zbV: stage < p ? stage : 2 * p - 1 - stage
        case .chimera: replica == 0 ? stage : p - 1 - stage
        default: stage % p
        }
    }

    private struct Key: Hashable { var kind: PipelineOp.Kind; var microbatch, stage, replica: Int }

    private static func duration(_ kind: PipelineOp.Kind, _ t: StageTimes, v: Int) -> Double {
        let d: Double = switch kind {
        case .forward: t.forward
        case .backward: t.backwardInput
        case .weight: t.backwardWeight
        case .fullBackward: t.backwardInput + t.backwardWeight
        }
        return d / Double(v)
    }

    /// Earliest start allowed by data dependencies, or nil while one is unscheduled.
    private static func readyTime(_ op: Key, device d: Int, stages: Int, kind: PipelineScheduleKind, p: Int,
                                  comm: Double, done: [Key: (end: Double, device: Int)]) -> Double? {
        func after(_ dep: Key) -> Double? {
            guard let e = done[dep] else { return nil }
            return e.device == d ? e.end : e.end + comm
        }
        switch op.kind {
        case .forward:
            return op.stage == 0 ? 0 : after(Key(kind: .forward, microbatch: op.microbatch, stage: op.stage - 1, replica: op.replica))
        case .backward, .fullBackward:
            guard let own = after(Key(kind: .forward, microbatch: op.microbatch, stage: op.stage, replica: op.replica)) else { return nil }
            if op.stage == stages - 1 { return own }
            guard let next = after(Key(kind: op.kind, microbatch: op.microbatch, stage: op.stage + 1, replica: op.replica)) else { return nil }
            return max(own, next)
        case .weight:
            return after(Key(kind: .backward, microbatch: op.microbatch, stage: op.stage, replica: op.replica))
        }
    }

    // MARK: - Fixed orders

    /// One entry of a device's fixed order.
    struct Step {
        var kind: PipelineOp.Kind
        var microbatch, stage: Int
        var replica = 0
        init(_ kind: PipelineOp.Kind, _ microbatch: Int, _ stage: Int, replica: Int = 0) {
            (self.kind, self.microbatch, self.stage, self.replica) = (kind, microbatch, stage, replica)
        }
    }

    /// Chimera (Li & Hoefler 2021, Section 3.2, Figure 3): a down pipeline (stage s on device s) and an up
    /// pipeline (stage s on device p - 1 - s), each fed D/2 of every D = p microbatches. In the paper's slot
    /// model every pass takes one slot and a pipeline admits a microbatch every second slot, so microbatch i of
    /// unit u runs F on stage s in slot 2Du + 2i + s and B in slot 2Du + 2i + 2D - 1 - s; with D even the two
    /// directions never claim the same slot on a device. Each device runs its passes in slot order. The next
    /// unit starts 2D slots later, once the unit before has drained its first microbatch, as the reference
    /// implementation (`chimera_pipeline_rank.py`) starts it. Forward doubling (Section 3.5) is not modelled.
    private static func chimeraOrder(p: Int, m: Int) -> [[Step]] {
        let half = p / 2, perReplica = m / 2
        var slotted = Array(repeating: [(slot: Int, step: Step)](), count: p)
        for replica in 0..<2 {
            for microbatch in 0..<perReplica {
                let (unit, i) = (microbatch / half, microbatch % half)
                for stage in 0..<p {
                    let d = device(kind: .chimera, stage: stage, replica: replica, p: p)
                    let first = 2 * p * unit + 2 * i
                    slotted[d].append((first + stage, Step(.forward, microbatch, stage, replica: replica)))
                    slotted[d].append((first + 2 * p - 1 - stage, Step(.fullBackward, microbatch, stage, replica: replica)))
                }
            }
        }
        return slotted.map { $0.sorted { $0.slot < $1.slot }.map(\.step) }
    }

    /// GPipe (Huang et al. 2019) and breadth-first (Lamy-Poirier 2023): every forward of every local chunk
    /// in stage order, then every backward in reverse stage order.
    private static func fillDrainOrder(p: Int, m: Int, v: Int) -> [[Step]] {
        (0..<p).map { d in
            let chunks = (0..<v).map { $0 * p + d }
            return chunks.flatMap { s in (0..<m).map { Step(.forward, $0, s) } }
                + chunks.reversed().flatMap { s in (0..<m).map { Step(.fullBackward, $0, s) } }
        }
    }

    /// Megatron-LM's interleaved 1F1B (Narayanan et al. 2021, Section 2.2.2; `schedules.py`): microbatches
    /// go through the local chunks in groups of p; warm-up is (p - d - 1) * 2 + (v - 1) * p forwards.
    private static func interleavedOrder(p: Int, m: Int, v: Int) -> [[Step]] {
        let total = m * v
        func forwardOp(_ k: Int, _ d: Int) -> Step {
            let chunk = (k / p) % v, mb = (k / (p * v)) * p + k % p
            return Step(.forward, mb, chunk * p + d)
        }
        func backwardOp(_ k: Int, _ d: Int) -> Step {
            let chunk = v - 1 - (k / p) % v, mb = (k / (p * v)) * p + k % p
            return Step(.fullBackward, mb, chunk * p + d)
        }
        return (0..<p).map { d in
            let warmup = min(total, (p - d - 1) * 2 + (v - 1) * p)
            var order = (0..<warmup).map { forwardOp($0, d) }
            for k in 0..<(total - warmup) { order.append(forwardOp(warmup + k, d)); order.append(backwardOp(k, d)) }
            for k in (total - warmup)..<total { order.append(backwardOp(k, d)) }
            return order
        }
    }

    /// The handcrafted zero-bubble schedules of Qi et al. 2024 (Section 2, Figure 3), as a fixed order per
    /// device d: `warmup(d)` forwards, then rounds of B_k, W_(k - lag), F_(warmup + k), then the W passes left.
    /// ZB-H1 is warm-up p - d with lag d (every device holds p microbatches); ZB-H2 is warm-up 2(p - d) - 1
    /// with lag 2d (every device holds 2p - 1), which turns 1F1B's trapezoid into a parallelogram.
    private static func handcraftedOrder(p: Int, m: Int, warmup: (Int) -> Int,
                                         weightLag: (Int) -> Int) -> [[Step]] {
        (0..<p).map { d in
            let w = min(m, warmup(d)), lag = weightLag(d)
            var order = (0..<w).map { Step(.forward, $0, d) }
            var nextWeight = 0
            for k in 0..<m {
                order.append(Step(.backward, k, d))
                if k - lag >= 0 { order.append(Step(.weight, k - lag, d)); nextWeight = k - lag + 1 }
                if w + k < m { order.append(Step(.forward, w + k, d)) }
            }
            order += (nextWeight..<m).map { Step(.weight, $0, d) }
            return order
        }
    }

    private static func replay(_ kind: PipelineScheduleKind, p: Int, m: Int, v: Int, times: StageTimes,
                               order: [[Step]]) throws -> PipelineTimeline {
        var done: [Key: (end: Double, device: Int)] = [:]
        var next = Array(repeating: 0, count: p), free = Array(repeating: 0.0, count: p)
        var ops = Array(repeating: [PipelineOp](), count: p)
        var remaining = order.reduce(0) { $0 + $1.count }
        while remaining > 0 {
            var progressed = false
            for d in 0..<p where next[d] < order[d].count {
                let step = order[d][next[d]]
                let (k, mb, s) = (step.kind, step.microbatch, step.stage)
                let key = Key(kind: k, microbatch: mb, stage: s, replica: step.replica)
                guard let ready = readyTime(key, device: d, stages: p * v, kind: kind, p: p,
                                            comm: times.communication, done: done) else { continue }
                let start = max(ready, free[d]), end = start + duration(k, times, v: v)
                ops[d].append(PipelineOp(kind: k, microbatch: mb, stage: s, replica: step.replica, device: d, start: start, end: end))
                done[key] = (end, d); free[d] = end; next[d] += 1; remaining -= 1; progressed = true
            }
            guard progressed else { throw PlannerError.invalid("schedule \(kind.rawValue) deadlocks at p=\(p), m=\(m)") }
        }
        return PipelineTimeline(kind: kind, devices: p, microbatches: m, chunksPerDevice: v, ops: ops,
                                peakActivations: peaks(ops, p: p, v: v))
    }

    // MARK: - Greedy list scheduler

    /// Event-driven: each free device picks a ready B, else a ready F within `limit(device)` live
    /// activation units, else a pending W; GPipe-like fill is never chosen. Ties go to the oldest microbatch,
    /// then the later stage (it frees memory sooner).
    private static func greedy(_ kind: PipelineScheduleKind, p: Int, m: Int, v: Int, times: StageTimes,
                               replicas: Int, limit: (Int) -> Limit) -> PipelineTimeline {
        let split = kind.splitsBackward, stages = p * v, unit = 1 / Double(v)
        let perReplica = replicas == 2 ? m / 2 : m
        // Per device, per (replica, local stage) queue heads: next microbatch for F, B, W.
        struct Lane { var replica, stage: Int; var nextF = 0, nextB = 0, nextW = 0 }
        var lanes = Array(repeating: [Lane](), count: p)
        for r in 0..<replicas { for s in 0..<stages {
            lanes[device(kind: kind, stage: s, replica: r, p: p)].append(Lane(replica: r, stage: s))
        } }
        var done: [Key: (end: Double, device: Int)] = [:]
        var free = Array(repeating: 0.0, count: p), live = Array(repeating: 0.0, count: p)
        var awaitingBackward = Array(repeating: 0.0, count: p)   // forwards whose B has not run
        // 1F1B: after the first B, F and B alternate while both remain.
        let alternate = kind == .oneFOneB
        var lastWasBackward = Array(repeating: Bool?.none, count: p)
        var peak = Array(repeating: 0.0, count: p)
        var releases = Array(repeating: [(time: Double, units: Double)](), count: p)
        var ops = Array(repeating: [PipelineOp](), count: p)
        let backwardKind: PipelineOp.Kind = split ? .backward : .fullBackward
        var remaining = replicas * perReplica * stages * (split ? 3 : 2)
        var events = MinHeap()   // op ends (and arrivals after communication): the only times anything changes
        var now = 0.0
        func finished(_ d: Int) -> Bool { lanes[d].allSatisfy { isFinished($0.nextW, $0.nextB, split, perReplica) } }
        while remaining > 0 {
            var progressed = true
            while progressed {
                progressed = false
                for d in 0..<p where free[d] <= now + 1e-12 && !finished(d) {
                    // Memory freed by ops that ended by now.
                    live[d] -= releases[d].filter { $0.time <= now + 1e-12 }.reduce(0) { $0 + $1.units }
                    releases[d].removeAll { $0.time <= now + 1e-12 }
                    guard let pick = choose(d) else { continue }
                    let end = now + duration(pick.key.kind, times, v: v)
                    ops[d].append(PipelineOp(kind: pick.key.kind, microbatch: pick.key.microbatch, stage: pick.key.stage,
                                             replica: pick.key.replica, device: d, start: now, end: end))
                    done[pick.key] = (end, d); free[d] = end; remaining -= 1; progressed = true
                    events.push(end); events.push(end + times.communication)
                    if pick.key.kind != .weight { lastWasBackward[d] = pick.key.kind != .forward }
                    switch pick.key.kind {
                    case .forward:
                        lanes[d][pick.lane].nextF += 1
                        live[d] += unit; peak[d] = max(peak[d], live[d]); awaitingBackward[d] += unit
                    case .backward: lanes[d][pick.lane].nextB += 1; awaitingBackward[d] -= unit
                    case .fullBackward:
                        lanes[d][pick.lane].nextB += 1; releases[d].append((end, unit)); awaitingBackward[d] -= unit
                    case .weight:
                        lanes[d][pick.lane].nextW += 1; releases[d].append((end, unit))
                    }
                }
            }
            while let t = events.peek(), t <= now + 1e-12 { _ = events.pop() }
            guard let next = events.pop() else { break }
            now = next
        }

        /// The op device `d` runs now, if any: a ready B, else a ready F within the memory limit, else a W.
        func choose(_ d: Int) -> (key: Key, lane: Int)? {
            var best: (key: Key, lane: Int, rank: Int)?
            func consider(_ key: Key, _ lane: Int, _ rank: Int) {
                if let b = best {
                    if rank > b.rank { return }
                    if rank == b.rank {
                        if key.microbatch > b.key.microbatch { return }
                        if key.microbatch == b.key.microbatch && key.stage <= b.key.stage { return }
                    }
                }
                best = (key, lane, rank)
            }
            let forwardsLeft = lanes[d].contains { $0.nextF < perReplica }
            let mustForward = alternate && lastWasBackward[d] == true && forwardsLeft
            let mustBackward = alternate && lastWasBackward[d] == false
                && awaitingBackward[d] + unit > limit(d).beforeBackward + 1e-9
            for (i, lane) in lanes[d].enumerated() {
                if !mustForward, lane.nextB < perReplica, lane.nextB < lane.nextF {
                    let key = Key(kind: backwardKind, microbatch: lane.nextB, stage: lane.stage, replica: lane.replica)
                    if let t = readyTime(key, device: d, stages: stages, kind: kind, p: p, comm: times.communication, done: done),
                       t <= now + 1e-12 { consider(key, i, 0) }
                }
                if !mustBackward, lane.nextF < perReplica, live[d] + unit <= limit(d).beforeWeight + 1e-9,
                   awaitingBackward[d] + unit <= limit(d).beforeBackward + 1e-9 {
                    let key = Key(kind: .forward, microbatch: lane.nextF, stage: lane.stage, replica: lane.replica)
                    if let t = readyTime(key, device: d, stages: stages, kind: kind, p: p, comm: times.communication, done: done),
                       t <= now + 1e-12 { consider(key, i, 1) }
                }
                if split, lane.nextW < lane.nextB {
                    consider(Key(kind: .weight, microbatch: lane.nextW, stage: lane.stage, replica: lane.replica), i, 2)
                }
            }
            return best.map { ($0.key, $0.lane) }
        }
        return PipelineTimeline(kind: kind, devices: p, microbatches: m, chunksPerDevice: v, ops: ops, peakActivations: peak)
    }

    /// Live activations a device may hold, in units of one microbatch on a 1/p slice of the model:
    /// counting forwards whose B has not run, and forwards whose W (memory release) has not run.
    struct Limit { var beforeBackward, beforeWeight: Double }

    /// A binary min-heap of event times.
    struct MinHeap {
        private var items: [Double] = []
        func peek() -> Double? { items.first }
        mutating func push(_ x: Double) {
            items.append(x)
            var i = items.count - 1
            while i > 0, items[(i - 1) / 2] > items[i] { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        }
        mutating func pop() -> Double? {
            guard !items.isEmpty else { return nil }
            items.swapAt(0, items.count - 1)
            let top = items.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
            return top
        }
    }

    private static func isFinished(_ nextW: Int, _ nextB: Int, _ split: Bool, _ m: Int) -> Bool {
        split ? nextW >= m : nextB >= m
    }

    /// Live activations over time: an F allocates 1/v unit at its start; the op that finishes the
    /// microbatch's backward on that chunk (W, or a combined backward) frees it at its end.
    private static func peaks(_ ops: [[PipelineOp]], p: Int, v: Int) -> [Double] {
        ops.map { deviceOps in
            var events: [(Double, Double)] = []
            for op in deviceOps {
                if op.kind == .forward { events.append((op.start, 1 / Double(v))) }
                if op.kind == .weight || op.kind == .fullBackward { events.append((op.end, -1 / Double(v))) }
            }
            events.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var live = 0.0, peak = 0.0
            for (_, delta) in events { live += delta; peak = max(peak, live) }
            return peak
        }
    }
}
