/// G.711 mu-law companding, bit-exact with the ITU-T reference implementation (G.191 STL
/// `ulaw_compress` / `ulaw_expand`).
///
/// Linear samples are 16-bit, of which the 14 most significant bits are coded, as in G.711.
/// Negative values are truncated in magnitude (the reference uses the one's complement), so
/// `encode(-1) == 0x7F`, the code for "negative zero". Decoded values are the centres of the
/// quantisation intervals, ±0…±32124.
package enum MuLaw {
    /// Compresses one 16-bit linear sample to a mu-law code.
    @inlinable
    package static func encode(_ sample: Int16) -> UInt8 {
        let linear = Int32(sample)
        // Magnitude in 14-bit units plus the bias of 33, as in ulaw_compress.
        var absolute = (linear < 0 ? (~linear) >> 2 : linear >> 2) + 33
        if absolute > 0x1FFF { absolute = 0x1FFF }
        var segment: Int32 = 1
        var rest = absolute >> 6
        while rest != 0 {
            segment += 1
            rest >>= 1
        }
        let highNibble = 0x8 - segment
        let lowNibble = 0xF - ((absolute >> segment) & 0xF)
        var code = (highNibble << 4) | lowNibble
        if linear >= 0 { code |= 0x80 }
        return UInt8(truncatingIfNeeded: code)
    }

    /// Expands one mu-law code to a 16-bit linear sample.
    @inlinable
    package static func decode(_ code: UInt8) -> Int16 {
        let inverted = ~Int32(code)
        let exponent = (inverted >> 4) & 0x7
        let mantissa = inverted & 0xF
        let step = Int32(4) << (exponent + 1)
        let magnitude = (Int32(0x80) << exponent) + step * mantissa + step / 2 - 4 * 33
        return Int16(code < 0x80 ? -magnitude : magnitude)
    }

    /// All 256 decoded values, indexed by code.
    package static let decodeTable: [Int16] = (0...255).map { decode(UInt8($0)) }
}
