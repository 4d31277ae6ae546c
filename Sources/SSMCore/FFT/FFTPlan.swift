import CNumerics
import Foundation

/// Direction of a real FFT.
public enum FFTDirection: Hashable, Sendable {
    /// Real → half complex spectrum (`fftwf_plan_many_dft_r2c`), unnormalised.
    case forward
    /// Half complex spectrum → real (`fftwf_plan_many_dft_c2r`), unnormalised (a forward then an
    /// inverse multiplies by the number of points).
    case inverse
}

/// How hard FFTW searches for a fast algorithm when a plan is first made for a shape.
public enum FFTPlanningRigor: Sendable {
    /// Heuristic plan, instant (`FFTW_ESTIMATE`).
    case estimate
    /// Times candidate algorithms once per shape (`FFTW_MEASURE`); the plan is cached, so the cost
    /// is paid once per process.
    case measure
}

/// A buffer of `Float` allocated with `fftwf_malloc`, so every buffer has the alignment FFTW
/// assumes when a cached plan is executed on it through the new-array interface.
public final class FFTBuffer {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of `Float`s.
    public let count: Int

    /// `count` floats, zero-filled.
    public init(count: Int) {
        let n = max(count, 1)
        guard let raw = fftwf_malloc(n * MemoryLayout<Float>.stride) else {
            fatalError("fftwf_malloc failed for \(n) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: n)
        pointer.initialize(repeating: 0, count: n)
        self.count = count
    }

    deinit { fftwf_free(pointer) }

    /// Sets the first `n` (default all) elements to zero.
    public func zero(_ n: Int? = nil) { pointer.update(repeating: 0, count: n ?? count) }
}

/// A cached FFTW single-precision plan for `batch` contiguous real transforms of `shape`
/// (row-major, the transform runs over all axes of `shape`).
///
/// Layouts, for `shape = [P1, …, Pn]`:
/// - real side: `batch × P1 × … × Pn` floats,
/// - complex side: `batch × P1 × … × P(n-1) × (Pn/2 + 1)` interleaved `(re, im)` pairs.
///
/// Plans are made once per `(shape, batch, direction)` and kept for the life of the process
/// (``FFTPlanCache``). Execution uses FFTW's new-array functions, which are thread-safe, on any
/// buffers allocated like ``FFTBuffer`` (with `fftwf_malloc`, hence the planning alignment).
/// An inverse plan overwrites its complex input.
public final class FFTPlan: @unchecked Sendable {
    public let shape: [Int]
    public let batch: Int
    public let direction: FFTDirection
    let plan: OpaquePointer

    /// Points in one real transform, `P1 · … · Pn`.
    public let realCount: Int
    /// Complex bins in one half spectrum, `P1 · … · P(n-1) · (Pn/2 + 1)`.
    public let complexCount: Int

    fileprivate init(shape: [Int], batch: Int, direction: FFTDirection, rigor: FFTPlanningRigor) {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 > 0 } && batch > 0,
                     "invalid FFT shape \(shape) × \(batch)")
        self.shape = shape
        self.batch = batch
        self.direction = direction
        let realCount = shape.reduce(1, *)
        let complexCount = shape.dropLast().reduce(1, *) * (shape.last! / 2 + 1)
        self.realCount = realCount
        self.complexCount = complexCount
        // Planning may overwrite the arrays (FFTW_MEASURE): plan on private scratch buffers.
        let real = FFTBuffer(count: realCount * batch)
        let complex = FFTBuffer(count: 2 * complexCount * batch)
        let n = shape.map { Int32($0) }
        var flags: UInt32 = rigor == .measure ? 0 /* FFTW_MEASURE */ : (1 << 6) /* FFTW_ESTIMATE */
        if direction == .inverse { flags |= 1 /* FFTW_DESTROY_INPUT */ }
        let cptr = UnsafeMutableRawPointer(complex.pointer).bindMemory(to: fftwf_complex.self, capacity: complexCount * batch)
        let p: OpaquePointer? = n.withUnsafeBufferPointer { nb in
            switch direction {
            case .forward:
                return fftwf_plan_many_dft_r2c(Int32(shape.count), nb.baseAddress, Int32(batch),
                                               real.pointer, nil, 1, Int32(realCount),
                                               cptr, nil, 1, Int32(complexCount), flags)
            case .inverse:
                return fftwf_plan_many_dft_c2r(Int32(shape.count), nb.baseAddress, Int32(batch),
                                               cptr, nil, 1, Int32(complexCount),
                                               real.pointer, nil, 1, Int32(realCount), flags)
            }
        }
        guard let p else { fatalError("FFTW could not plan a \(direction) transform of \(shape) × \(batch)") }
        plan = p
    }

    /// Forward: `real` (batch × realCount floats) → `complex` (batch × complexCount pairs).
    /// Both buffers must come from `fftwf_malloc` (see ``FFTBuffer``).
    @inline(__always)
    public func forward(_ real: UnsafeMutablePointer<Float>, _ complex: UnsafeMutablePointer<Float>) {
        precondition(direction == .forward, "forward() on an inverse plan")
        let c = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: fftwf_complex.self)
        fftwf_execute_dft_r2c(plan, real, c)
    }

    /// Inverse: `complex` (destroyed) → `real`, unnormalised.
    @inline(__always)
    public func inverse(_ complex: UnsafeMutablePointer<Float>, _ real: UnsafeMutablePointer<Float>) {
        precondition(direction == .inverse, "inverse() on a forward plan")
        let c = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: fftwf_complex.self)
        fftwf_execute_dft_c2r(plan, c, real)
    }

    /// Cached plan for `(shape, batch, direction)`; see ``FFTPlanCache``.
    public static func cached(shape: [Int], batch: Int = 1, direction: FFTDirection) -> FFTPlan {
        FFTPlanCache.shared.plan(shape: shape, batch: batch, direction: direction)
    }
}

/// The process-wide plan cache. FFTW's planner is not thread-safe, so every plan is created
/// while holding ``FFTPlanCache/plannerLock``; lookups of existing plans take the same lock briefly.
public final class FFTPlanCache: @unchecked Sendable {
    public static let shared = FFTPlanCache()

    /// Serialises every call into FFTW's planner (plan creation and destruction).
    public static let plannerLock = NSLock()

    private struct Key: Hashable {
        let shape: [Int]
        let batch: Int
        let direction: FFTDirection
    }
    private var plans: [Key: FFTPlan] = [:]
    private var _rigor: FFTPlanningRigor = .measure

    /// Rigor used for plans made from now on (default ``FFTPlanningRigor/measure``).
    public var rigor: FFTPlanningRigor {
        get { FFTPlanCache.plannerLock.lock(); defer { FFTPlanCache.plannerLock.unlock() }; return _rigor }
        set { FFTPlanCache.plannerLock.lock(); _rigor = newValue; FFTPlanCache.plannerLock.unlock() }
    }

    /// The largest prime factor of `n` (1 for n ≤ 1).
    static func largestPrimeFactor(_ n: Int) -> Int {
        var n = n, largest = 1, f = 2
        while f * f <= n {
            while n % f == 0 { largest = f; n /= f }
            f += 1
        }
        return n > 1 ? max(largest, n) : largest
    }

    /// Number of distinct plans made so far.
    public var count: Int {
        FFTPlanCache.plannerLock.lock(); defer { FFTPlanCache.plannerLock.unlock() }
        return plans.count
    }

    public func plan(shape: [Int], batch: Int, direction: FFTDirection) -> FFTPlan {
        let key = Key(shape: shape, batch: batch, direction: direction)
        FFTPlanCache.plannerLock.lock()
        defer { FFTPlanCache.plannerLock.unlock() }
        if let p = plans[key] { return p }
        // Measuring a length with a large prime factor (e.g. 2 × 30,096 for one audio file) tries
        // many slow algorithms and can take seconds per shape; such lengths come from arbitrary
        // input sizes, each seen once, so they get FFTW's heuristic plan instead.
        let rigor: FFTPlanningRigor = shape.contains(where: { Self.largestPrimeFactor($0) > 13 }) ? .estimate : _rigor
        let p = FFTPlan(shape: shape, batch: batch, direction: direction, rigor: rigor)
        plans[key] = p
        return p
    }
}

/// Runs `body(range)` over `0..<count` split into contiguous ranges, one per worker, through
/// ``Parallel/forEach(_:_:)`` (so the package's BLAS threading policy applies). Each worker
/// allocates its scratch once per range, so per-item work allocates nothing.
func parallelRanges(_ count: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let workers = max(1, min(Parallel.maxThreads, count))
    if workers == 1 { body(0..<count); return }
    Parallel.forEach(workers) { w in
        let lo = count * w / workers, hi = count * (w + 1) / workers
        if lo < hi { body(lo..<hi) }
    }
}
