/// Encoders for the 256-value super-block "K" formats (Q4_K, Q5_K, Q6_K), written to give the same
/// bytes as ggml's reference quantizers `quantize_row_q{4,5,6}_K_ref` (ggml-quants.c), which is what
/// `llama-quantize` runs when it has no importance matrix.
///
/// Being bit-exact means doing the same Float32 operations in the same order: every sum below is
/// accumulated left to right in Float32, products are grouped as ggml's C groups them
/// (`w*l*x` is `(w*l)*x`), nothing is fused into an FMA (Swift does not contract, and ggml's
/// reference lives in ggml-base, which x86 builds compile without FMA), and rounding goes through
/// ``nearestInt(_:)``, ggml's `nearest_int`. The searches also keep ggml's quirks — the Q4_K/Q5_K
/// minimum moves during the scale search and later steps measure from the moved minimum — because a
/// "cleaner" search would pick different codes.
enum KQuantEncoders {
    /// ggml's `nearest_int`: adds 1.5·2²³ so that the float's low mantissa bits hold the integer,
    /// rounded to nearest with ties to even. Exact for |x| < 2²²; like ggml, any other input
    /// (including NaN and infinities) gives some integer rather than trapping.
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int32 {
        let shifted = x + 12_582_912
        return Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF) &- 0x0040_0000
    }

    /// Encodes blocks `range` of `src` (256 values each) into `dst` (`type.blockBytes` each).
    static func encode(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks range: Range<Int>) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { codes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 16) { floats in
                let L = codes.baseAddress!, aux = L + 256
                let weights = floats.baseAddress!, subScales = weights + 32
                for b in range {
                    let x = src + 256 * b
                    switch type {
                    case .q4_K: q4_K(x, dst + 144 * b, L, aux, weights, subScales)
                    case .q5_K: q5_K(x, dst + 176 * b, L, aux, weights, subScales)
                    case .q6_K: q6_K(x, dst + 210 * b, L, subScales)
                    default: preconditionFailure("not a K-quant type: \(type)")
                    }
                }
            }
        }
    }

    // MARK: Q4_K and Q5_K

    /// Layout: fp16 d, fp16 dmin, 12 packed 6-bit scale/min bytes, 128 bytes of 4-bit codes (bytes
    /// 32k..<32k+32: sub-block 2k in the low nibbles, 2k+1 in the high ones). A value decodes as
    /// d·scale_j·q − dmin·min_j.
    static func q4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                     _ aux: UnsafeMutablePointer<UInt8>, _ weights: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        scalesAndCodes(x, y, maxCode: 15, searchStart: -1, searchSteps: 20, L, aux, weights, scratch)
        let qs = y + 16
        for k in 0..<4 {
            for l in 0..<32 {
                qs.storeBytes(of: L[64 * k + l] | L[64 * k + l + 32] << 4, toByteOffset: 32 * k + l, as: UInt8.self)
            }
        }
    }

    /// Layout: fp16 d, fp16 dmin, 12 scale/min bytes, 32 high-bit bytes, 128 low-nibble bytes. As
    /// Q4_K with 5-bit codes: bit j of high-bit byte l is the fifth bit of value l of sub-block j.
    static func q5_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                     _ aux: UnsafeMutablePointer<UInt8>, _ weights: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        scalesAndCodes(x, y, maxCode: 31, searchStart: -0.5, searchSteps: 15, L, aux, weights, scratch)
        let qh = y + 16, qs = y + 48
        for l in 0..<32 { qh.storeBytes(of: 0, toByteOffset: l, as: UInt8.self) }
        for k in 0..<4 {
            for l in 0..<32 {
                let lo = L[64 * k + l], hi = L[64 * k + l + 32]
                var high = qh.load(fromByteOffset: l, as: UInt8.self)
                high |= (lo >> 4) << (2 * k) | (hi >> 4) << (2 * k + 1)
                qh.storeBytes(of: high, toByteOffset: l, as: UInt8.self)
                qs.storeBytes(of: (lo & 0x0F) | (hi & 0x0F) << 4, toByteOffset: 32 * k + l, as: UInt8.self)
            }
        }
    }

    /// The shared part of Q4_K and Q5_K: for each sub-block of 32, a scale and minimum fitted by
    /// ``fitScaleAndMinimum``; both quantized to 6 bits against the largest of each (d, dmin); then
    /// every value re-coded against the quantized scale and minimum. Writes d, dmin and the 12
    /// scale bytes at `y`, and the codes (0...maxCode) into `L`.
    private static func scalesAndCodes(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, maxCode: Int32, searchStart: Float, searchSteps: Int,
                                       _ L: UnsafeMutablePointer<UInt8>, _ aux: UnsafeMutablePointer<UInt8>,
                                       _ weights: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
        let scales = scratch, minimums = scratch + 8
        var maxScale: Float = 0, maxMinimum: Float = 0
        for j in 0..<8 {
            let xs = x + 32 * j
            // Weights: the sub-block's RMS plus each value's magnitude (ggml's choice for K-quants).
            var sumSquares: Float = 0
            for l in 0..<32 { sumSquares += xs[l] * xs[l] }
            let rms = (sumSquares / 32).squareRoot()
            for l in 0..<32 { weights[l] = rms + abs(xs[l]) }
            let fit = fitScaleAndMinimum(xs, weights, maxCode: maxCode, codes: L + 32 * j, scratch: aux,
                                         searchStart: searchStart, searchSteps: searchSteps)
            scales[j] = fit.scale
            minimums[j] = fit.minimum
            if fit.scale > maxScale { maxScale = fit.scale }
            if fit.minimum > maxMinimum { maxMinimum = fit.minimum }
        }

        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let inverseMinimum: Float = maxMinimum > 0 ? 63 / maxMinimum : 0
        var packed = (UInt64(0), UInt32(0))  // the 12 scale bytes
        withUnsafeMutableBytes(of: &packed) { raw in
            let s = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for j in 0..<8 {
                // ggml stores nearest_int into a uint8_t (wrapping) before capping at 63.
                let ls = min(63, UInt8(truncatingIfNeeded: nearestInt(inverseScale * scales[j])))
                let lm = min(63, UInt8(truncatingIfNeeded: nearestInt(inverseMinimum * minimums[j])))
                if j < 4 {
                    s[j] = ls
                    s[j + 4] = lm
                } else {
                    s[j + 4] = (ls & 0x0F) | (lm & 0x0F) << 4
                    s[j - 4] |= (ls >> 4) << 6
                    s[j] |= (lm >> 4) << 6
                }
            }
            (y + 4).copyMemory(from: s, byteCount: 12)
        }
        let d = Float16(maxScale / 63), dmin = Float16(maxMinimum / 63)
        y.storeBytes(of: d.bitPattern.littleEndian, toByteOffset: 0, as: UInt16.self)
        y.storeBytes(of: dmin.bitPattern.littleEndian, toByteOffset: 2, as: UInt16.self)

        let packedScales = UnsafePointer((y + 4).assumingMemoryBound(to: UInt8.self))
        for j in 0..<8 {
            let (sc, m) = KQuantKernels.scaleAndMin(packedScales, j)
            let scale = Float(d) * sc
            if scale == 0 { continue }  // keeps the fitted codes, as ggml does
            let offset = Float(dmin) * m
            for i in 0..<32 {
                let l = nearestInt((x[32 * j + i] + offset) / scale)
                L[32 * j + i] = UInt8(max(0, min(maxCode, l)))
            }
        }
    }

    /// ggml's `make_qkx2_quants` for 32 values (squared error, no MAD): the scale s and minimum
    /// m ≤ 0 minimising Σ wᵢ(s·qᵢ + m − xᵢ)² over codes qᵢ ∈ 0...maxCode, searching
    /// `searchSteps + 1` candidate scales (maxCode + searchStart + 0.1·k over the range) and solving
    /// the weighted least-squares fit for each. Returns the scale and −m; the codes go to `codes`.
    static func fitScaleAndMinimum(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, maxCode: Int32,
                                   codes L: UnsafeMutablePointer<UInt8>, scratch aux: UnsafeMutablePointer<UInt8>,
                                   searchStart: Float, searchSteps: Int) -> (scale: Float, minimum: Float) {
        var lowest = x[0], highest = x[0]
        var sumW = w[0]
        var sumX = sumW * x[0]
        for i in 1..<32 {
            if x[i] < lowest { lowest = x[i] }
            if x[i] > highest { highest = x[i] }
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        if lowest > 0 { lowest = 0 }
        if highest == lowest {
            for i in 0..<32 { L[i] = 0 }
            return (0, -lowest)
        }
        let top = Float(maxCode)
        var inverse = top / (highest - lowest)
        var scale = 1 / inverse
        var bestError: Float = 0
        for i in 0..<32 {
            let l = nearestInt(inverse * (x[i] - lowest))
            L[i] = UInt8(max(0, min(maxCode, l)))
            let diff = scale * Float(L[i]) + lowest - x[i]
            bestError += w[i] * (diff * diff)
        }
        guard searchSteps >= 1 else { return (scale, -lowest) }
        for step in 0...searchSteps {
            // `lowest` may have moved in an earlier step; ggml measures from the moved value.
            inverse = (searchStart + 0.1 * Float(step) + top) / (highest - lowest)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<32 {
                let l = max(0, min(maxCode, nearestInt(inverse * (x[i] - lowest))))
                aux[i] = UInt8(l)
                let fl = Float(l)
                sumL += w[i] * fl
                sumL2 += w[i] * fl * fl
                sumXL += w[i] * fl * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<32 {
                let diff = thisScale * Float(aux[i]) + thisMin - x[i]
                error += w[i] * (diff * diff)
            }
            if error < bestError {
                for i in 0..<32 { L[i] = aux[i] }
                bestError = error
                scale = thisScale
                lowest = thisMin
            }
        }
        return (scale, -lowest)
    }

    // MARK: Q6_K

    /// Layout: 128 low-nibble bytes, 64 high-bit bytes, 16 int8 scales, fp16 d; a value decodes as
    /// d·scale_j·(q − 32) with q ∈ 0...63 and one scale per 16 values. Within each half of 128
    /// values, low-nibble byte l holds values l (low) and l+64 (high), byte l+32 values l+32 and
    /// l+96, and high-bit byte l the top two bits of values l, l+32, l+64, l+96.
    static func q6_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>, _ scales: UnsafeMutablePointer<Float>) {
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for j in 0..<16 {
            let scale = symmetricScale(x + 16 * j, codes: L + 16 * j)
            scales[j] = scale
            if abs(scale) > maxAbsScale {
                maxAbsScale = abs(scale)
                maxScale = scale
            }
        }
        if maxAbsScale < 1e-15 {
            y.initializeMemory(as: UInt8.self, repeating: 0, count: 210)
            return
        }
        let inverse = -128 / maxScale
        let d = Float16(1 / inverse)
        y.storeBytes(of: d.bitPattern.littleEndian, toByteOffset: 208, as: UInt16.self)
        for j in 0..<16 {
            // ggml caps at 127 and stores into an int8_t (the value cannot go below −128 here).
            let q = Int8(truncatingIfNeeded: min(127, nearestInt(inverse * scales[j])))
            y.storeBytes(of: q, toByteOffset: 192 + j, as: Int8.self)
            let scale = Float(d) * Float(q)
            if scale == 0 { continue }  // keeps the fitted codes, as ggml does
            for i in 0..<16 {
                let l = max(-32, min(31, nearestInt(x[16 * j + i] / scale)))
                L[16 * j + i] = UInt8(l + 32)
            }
        }
        for half in 0..<2 {
            let codes = L + 128 * half
            let ql = y + 64 * half, qh = y + 128 + 32 * half
            for l in 0..<32 {
                let a = codes[l], b = codes[l + 32], c = codes[l + 64], e = codes[l + 96]
                ql.storeBytes(of: (a & 0x0F) | (c & 0x0F) << 4, toByteOffset: l, as: UInt8.self)
                ql.storeBytes(of: (b & 0x0F) | (e & 0x0F) << 4, toByteOffset: l + 32, as: UInt8.self)
                qh.storeBytes(of: a >> 4 | (b >> 4) << 2 | (c >> 4) << 4 | (e >> 4) << 6, toByteOffset: l, as: UInt8.self)
            }
        }
    }

    /// ggml's `make_qx_quants(16, 32, x, L, 1, NULL)`: a signed scale s for codes qᵢ ∈ −32...31
    /// (stored as qᵢ + 32 in `codes`), weights xᵢ², the least-squares scale for the codes of
    /// −32/max and of 18 nearby inverse scales, −(32 ± 0.1·k)/max, keeping the best fit.
    static func symmetricScale(_ x: UnsafePointer<Float>, codes L: UnsafeMutablePointer<UInt8>) -> Float {
        let nmax: Int32 = 32
        var signedMax: Float = 0, largest: Float = 0
        for i in 0..<16 where abs(x[i]) > largest {
            largest = abs(x[i])
            signedMax = x[i]
        }
        if largest < 1e-15 {
            for i in 0..<16 { L[i] = 0 }
            return 0
        }
        @inline(__always) func code(_ inverse: Float, _ i: Int) -> Int32 { max(-nmax, min(nmax - 1, nearestInt(inverse * x[i]))) }
        var inverse = -Float(nmax) / signedMax
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<16 {
            let l = code(inverse, i)
            L[i] = UInt8(l + nmax)
            let w = x[i] * x[i], fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            inverse = -(Float(nmax) + 0.1 * Float(step)) / signedMax
            sumLX = 0
            sumL2 = 0
            for i in 0..<16 {
                let w = x[i] * x[i], fl = Float(code(inverse, i))
                sumLX += w * x[i] * fl
                sumL2 += w * fl * fl
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<16 { L[i] = UInt8(code(inverse, i) + nmax) }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return scale
    }
}
