/// Passes over a row of logits for the sampler and the server's logprobs, eight lanes at a time. A row is
/// the whole vocabulary (262,144 logits for Gemma 3), so each pass reads a megabyte for every token a
/// sampler picks. Drawn at temperature 0.8 from the whole row with scalar code (libm's `expf`, an array
/// of candidates), the default model decoded at 125 tokens/s on one thread of a Zen 5; with these
/// passes, at 140.
///
/// NaN logits, which only a broken model produces, are passed over: never the largest, never counted in
/// a sum, never at least a threshold.
extension Kernels {
    /// The largest logit and its index, the lowest among equals; (0, −∞) when there is none (an empty
    /// row, or every logit NaN).
    public static func largestLogit(_ logits: UnsafeBufferPointer<Float>) -> (index: Int, value: Float) {
        let count = logits.count
        guard let base = logits.baseAddress else { return (0, -.infinity) }
        let raw = UnsafeRawPointer(base)
        var lanes = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            lanes.replace(with: v, where: v .> lanes)  // a NaN compares false, so it never enters
            i += 8
        }
        var largest = -Float.infinity
        for lane in 0..<8 where lanes[lane] > largest { largest = lanes[lane] }
        while i < count {
            if base[i] > largest { largest = base[i] }
            i += 1
        }
        guard largest > -.infinity else {
            // Every logit is −∞ or NaN: the first −∞, if any.
            return (logits.firstIndex(of: -.infinity) ?? 0, -.infinity)
        }
        // The first index holding it: a chunk with no equal lane is passed over whole.
        let wanted = SIMD8<Float>(repeating: largest)
        i = 0
        while i + 8 <= count {
            if any(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) .== wanted) { break }
            i += 8
        }
        while base[i] != largest { i += 1 }
        return (i, largest)
    }

    /// Σ e^((l − maximum) · scale) over the logits, summed as `drawnIndex` sums: each run of eight in a
    /// tree, the runs in order, the last (padded with zeros) as a run. `maximum` should be the largest
    /// logit, so that no term overflows.
    public static func exponentialSum(_ logits: UnsafeBufferPointer<Float>, maximum: Float, scale: Float) -> Float {
        var total: Float = 0
        var start = 0
        while start < logits.count {
            total += treeSum(exponentials(logits, start, maximum: maximum, scale: scale))
            start += 8
        }
        return total
    }

    /// The first index where the running sum of e^((l − maximum) · scale), in index order, exceeds
    /// `target`: a draw from the distribution those terms make when `target` is uniform in
    /// [0, `exponentialSum`). nil when the sum never exceeds it.
    public static func drawnIndex(_ logits: UnsafeBufferPointer<Float>, maximum: Float, scale: Float,
                                  target: Float) -> Int? {
        var running: Float = 0
        var start = 0
        while start < logits.count {
            let terms = exponentials(logits, start, maximum: maximum, scale: scale)
            let runSum = treeSum(terms)
            if running + runSum > target {
                // Within the run one term at a time. Summed in that order the run may fall short of the
                // target by a rounding error that its tree sum did not; then its last nonzero term is it.
                var partial = running, last = start
                for lane in 0..<min(8, logits.count - start) where terms[lane] > 0 {
                    partial += terms[lane]
                    last = start + lane
                    if partial > target { return last }
                }
                return last
            }
            running += runSum
            start += 8
        }
        return nil
    }

    /// Writes the indices of the logits at least `threshold`, in order, to `indices` (room for
    /// logits.count) and returns how many there are. A run of eight with none is passed over whole.
    public static func indices(_ logits: UnsafeBufferPointer<Float>, atLeast threshold: Float,
                               into indices: UnsafeMutablePointer<Int32>) -> Int {
        guard let base = logits.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base), limit = SIMD8<Float>(repeating: threshold)
        var found = 0, i = 0
        while i + 8 <= logits.count {
            if any(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) .>= limit) {
                for j in i..<i + 8 where base[j] >= threshold {
                    indices[found] = Int32(j)
                    found += 1
                }
            }
            i += 8
        }
        while i < logits.count {
            if base[i] >= threshold {
                indices[found] = Int32(i)
                found += 1
            }
            i += 1
        }
        return found
    }

    /// Writes the indices of the `count` largest logits, largest first (the lower index first among
    /// equals), to `indices` (room for `count`) and returns how many that is: fewer when the row is
    /// shorter or holds NaNs. A running list of the best; once it is full, a run of eight with none
    /// above its last is passed over whole, so for a few from a whole row the pass is about a compare
    /// per eight logits.
    public static func largestLogits(_ logits: UnsafeBufferPointer<Float>, count: Int,
                                     into indices: UnsafeMutablePointer<Int32>) -> Int {
        guard count > 0, let base = logits.baseAddress else { return 0 }
        var kept = 0
        var floor = -Float.infinity  // what a logit must beat to enter a full list
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i < logits.count {
            let end = min(i + 8, logits.count)
            // A value, not a capture of `floor` in the test: captured, the compare was built lane by
            // lane through memory, and the pass took a twelfth of a decode step.
            let limit = SIMD8<Float>(repeating: floor)
            if kept < count || end - i < 8 || any(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) .> limit) {
                for j in i..<end { offerLogit(j, base, count, indices, &kept, &floor) }
            }
            i = end
        }
        return kept
    }

    /// `largestLogits`' step, also the sampler's for the candidates of a flat row: logit `i` enters the
    /// running list of the `count` best (`indices[0..<kept]`, largest first) if the list has room (and it
    /// is not NaN) or it beats the list's last, `floor`, after its equals. It writes no further into
    /// `indices` than the list's end, so the list may share its memory with ids still to be offered.
    @inlinable @inline(__always)
    public static func offerLogit(_ i: Int, _ base: UnsafePointer<Float>, _ count: Int, _ indices: UnsafeMutablePointer<Int32>,
                           _ kept: inout Int, _ floor: inout Float) {
        let logit = base[i]
        guard kept < count ? !logit.isNaN : logit > floor else { return }
        var at = min(kept, count - 1)
        while at > 0 && logit > base[Int(indices[at - 1])] {
            indices[at] = indices[at - 1]
            at -= 1
        }
        indices[at] = Int32(i)
        kept = min(kept + 1, count)
        if kept == count { floor = base[Int(indices[count - 1])] }
    }

    /// e^((l − maximum) · scale) for the run of up to eight logits from `start`; zero in the lanes past the
    /// row's end, where the logit is NaN, and where the exponent is below −87: `exp` clamps it there to a
    /// tiny positive number, and a token whose logit is −∞ (banned) must never be drawn.
    @inline(__always)
    static func exponentials(_ logits: UnsafeBufferPointer<Float>, _ start: Int, maximum: Float, scale: Float) -> SIMD8<Float> {
        var v = SIMD8<Float>(repeating: .nan)
        if start + 8 <= logits.count {
            v = UnsafeRawPointer(logits.baseAddress! + start).loadUnaligned(as: SIMD8<Float>.self)
        } else {
            for lane in 0..<logits.count - start { v[lane] = logits[start + lane] }
        }
        let exponents = (v - SIMD8(repeating: maximum)) * SIMD8(repeating: scale)
        return exp(exponents).replacing(with: 0, where: (v .!= v) .| (exponents .< -87))
    }

    /// The eight lanes summed in a fixed order: halves, then quarters, then the last two.
    @inline(__always)
    static func treeSum(_ v: SIMD8<Float>) -> Float {
        let half = v.lowHalf + v.highHalf
        let quarter = half.lowHalf + half.highHalf
        return quarter[0] + quarter[1]
    }
}
