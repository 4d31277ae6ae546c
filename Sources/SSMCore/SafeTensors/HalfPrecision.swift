/// Conversions from the 16-bit float formats stored in checkpoints to `Float`.
///
/// Written out by hand so they behave the same on every platform (Swift's `Float16` is not
/// available everywhere).
public enum HalfPrecision {
    /// IEEE 754 binary16 → binary32, exact.
    ///
    /// Bits: sign (1) | exponent (5, bias 15) | mantissa (10).
    /// - normal (e in 1...30): `(-1)^s · 2^(e-15) · (1 + m/1024)` → rebias exponent to 127, shift mantissa by 13;
    /// - subnormal / zero (e = 0): `(-1)^s · m · 2^-24` (exact in `Float`);
    /// - e = 31: ±infinity (m = 0) or NaN (payload kept in the top mantissa bits).
    @inlinable
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x03FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13))
        }
    }

    /// bfloat16 → binary32, exact: bfloat16 is the top half of a binary32 bit pattern.
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
