/// Element types this package reads from safetensors files (names as in the format's `dtype` field).
/// All are converted to `Float` on load; writing always uses `F32`.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// Whether the type holds floating-point numbers (F64, F32, F16, BF16).
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: return true
        case .I64, .I32, .I16, .I8, .U8, .BOOL: return false
        }
    }

    /// Converts `count` little-endian elements starting at `bytes` into `out`.
    /// `bytes` need not be aligned.
    func convert(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        precondition(bytes.count == n * size)
        guard n > 0, let src = bytes.baseAddress, let dst = out.baseAddress else { return }
        switch self {
        case .F32:
            #if _endian(little)
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: n * 4)
            #else
            for i in 0..<n {
                dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
            #endif
        case .F64:
            for i in 0..<n {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .F16:
            for i in 0..<n {
                dst[i] = HalfPrecision.float(fromHalfBits: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .BF16:
            for i in 0..<n {
                dst[i] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .I64:
            for i in 0..<n {
                dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            }
        case .I32:
            for i in 0..<n {
                dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            }
        case .I16:
            for i in 0..<n {
                dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            }
        case .I8:
            for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .U8:
            for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .BOOL:
            for i in 0..<n { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }
}
