/// Converts IEEE half-precision bits to a `Float`, exactly (normals, subnormals, zeros, infinities
/// and NaN payloads). Written with integer ops so loops over it vectorize on any x86_64 target.
@inline(__always)
func floatFromHalfBits(_ h: UInt16) -> Float {
    let shiftedExponent: UInt32 = 0x7C00 << 13
    var bits = UInt32(h & 0x7FFF) << 13
    let exponent = bits & shiftedExponent
    bits &+= (127 - 15) << 23
    if exponent == shiftedExponent {
        bits &+= (128 - 16) << 23
    } else if exponent == 0 {
        bits &+= 1 << 23
        bits = (Float(bitPattern: bits) - Float(bitPattern: 113 << 23)).bitPattern
    }
    return Float(bitPattern: bits | (UInt32(h & 0x8000) << 16))
}

/// The fp16 value stored little-endian at `offset` bytes past `base`.
@inline(__always)
func loadHalf(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    floatFromHalfBits(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
