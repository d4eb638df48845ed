// The scale searches behind ggml's K-quant reference quantizers (ggml-quants.c: make_qkx2_quants,
// make_q3_quants, make_qx_quants without importance weights). Each is a line-by-line port: same float
// operations in the same order (no fused multiply-add), same tie breaks, so the chosen levels match bit
// for bit. `levels` is a block's level array and `offset` where this group of `x.count` weights starts.

enum KQuantSearch {
    /// Groups whose largest magnitude is below this count as all zero (ggml `GROUP_MAX_EPS`).
    static let groupMaxEpsilon: Float = 1e-15

    /// ggml `make_qkx2_quants`: fits x ≈ scale * L - min with L in 0...levelMax (min >= 0 is returned
    /// negated, as ggml's `the_min`). Starts from the min/max fit, then tries `steps + 1` stretched scales,
    /// each refined by weighted least squares, and keeps the one with the lowest weighted error
    /// (absolute error when `useMAD`, squared otherwise).
    static func makeQKX2Quants(
        levelMax nmax: Int32, x: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
        levels: inout InlineArray<256, UInt8>, at offset: Int,
        rmin: Float, rdelta: Float, steps nstep: Int, useMAD: Bool
    ) -> (scale: Float, min: Float) {
        let n = x.count
        precondition(n <= 32 && weights.count == n, "makeQKX2Quants: groups hold at most 32 weights")
        var min = x[0], max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if max == min {
            for i in 0..<n { levels[offset + i] = 0 }
            return (0, -min)
        }
        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, Rounding.nearestInt(iscale * (x[i] - min))))
            levels[offset + i] = UInt8(l)
            var diff = scale * Float(l) + min - x[i]
            diff = useMAD ? abs(diff) : diff * diff
            bestError += weights[i] * diff
        }
        if nstep < 1 { return (scale, -min) }

        var trial = InlineArray<32, UInt8>(repeating: 0)  // ggml's Laux
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = Swift.max(0, Swift.min(nmax, Rounding.nearestInt(iscale * (x[i] - min))))
                trial[i] = UInt8(l)
                let w = weights[i]
                sumL += w * Float(l)
                sumL2 += w * Float(l) * Float(l)
                sumXL += w * Float(l) * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            // Weighted least squares for x ≈ thisScale * l + thisMin; a positive offset is not allowed.
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                var diff = thisScale * Float(trial[i]) + thisMin - x[i]
                diff = useMAD ? abs(diff) : diff * diff
                error += weights[i] * diff
            }
            if error < bestError {
                for i in 0..<n { levels[offset + i] = trial[i] }
                bestError = error
                scale = thisScale
                min = thisMin
            }
        }
        return (scale, -min)
    }

    /// ggml `make_q3_quants` with `do_rmse`: symmetric levels L in -levelMax..<levelMax for x ≈ scale * L,
    /// weighted by x², improved by up to 5 passes that move one level at a time while the weighted fit
    /// gets better. Stores L + levelMax (0 for an all-zero group) and returns the scale.
    static func makeQ3Quants(
        levelMax nmax: Int32, x: UnsafeBufferPointer<Float>, levels: inout InlineArray<256, Int8>, at offset: Int
    ) -> Float {
        let n = x.count
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < groupMaxEpsilon {
            for i in 0..<n { levels[offset + i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / max
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, Rounding.nearestInt(iscale * x[i])))
            levels[offset + i] = Int8(l)
            let w = x[i] * x[i]
            sumLX += w * x[i] * Float(l)
            sumL2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i]
                let current = Float(levels[offset + i])
                var slx = sumLX - w * x[i] * current
                guard slx > 0 else { continue }
                var sl2 = sumL2 - w * current * current
                let newL = Swift.max(-nmax, Swift.min(nmax - 1, Rounding.nearestInt(x[i] * sl2 / slx)))
                guard newL != Int32(levels[offset + i]) else { continue }
                slx += w * x[i] * Float(newL)
                sl2 += w * Float(newL) * Float(newL)
                // Keep the move when it raises slx² / sl2 (the captured energy), compared without dividing.
                if sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2 {
                    levels[offset + i] = Int8(newL)
                    sumLX = slx
                    sumL2 = sl2
                    changed += 1
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { levels[offset + i] += Int8(nmax) }
        return sumL2 > 0 ? sumLX / sumL2 : 0
    }

    /// ggml `make_qx_quants` with `rmse_type == 1` and no importance weights: symmetric levels L in
    /// -levelMax..<levelMax for x ≈ scale * L, weights x²; tries 18 scales around levelMax / max and keeps
    /// the best weighted least-squares fit. Stores L + levelMax (0 for an all-zero group), returns the scale.
    static func makeQXQuants(
        levelMax nmax: Int32, x: UnsafeBufferPointer<Float>, levels: inout InlineArray<256, Int8>, at offset: Int
    ) -> Float {
        let n = x.count
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < groupMaxEpsilon {
            for i in 0..<n { levels[offset + i] = 0 }
            return 0
        }
        var iscale = Float(-nmax) / max
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, Rounding.nearestInt(iscale * x[i])))
            levels[offset + i] = Int8(l + nmax)
            let w = x[i] * x[i]
            sumLX += w * x[i] * Float(l)
            sumL2 += w * Float(l) * Float(l)
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / max
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let l = Swift.max(-nmax, Swift.min(nmax - 1, Rounding.nearestInt(iscale * x[i])))
                let w = x[i] * x[i]
                sumLX += w * x[i] * Float(l)
                sumL2 += w * Float(l) * Float(l)
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<n {
                    let l = Swift.max(-nmax, Swift.min(nmax - 1, Rounding.nearestInt(iscale * x[i])))
                    levels[offset + i] = Int8(l + nmax)
                }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }
}
