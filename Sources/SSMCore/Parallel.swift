import Foundation
import CNumerics

/// Data-parallel loops over batch elements and channels.
///
/// ## Threading policy (with OpenBLAS)
///
/// The machine has few cores, so two thread pools must never compete:
///
/// * OpenBLAS runs single-threaded (``BLAS/configure``); each Dispatch worker calls GEMMs on
///   its own slice, and ``BLAS/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` splits a
///   big GEMM called outside a loop across the workers itself.
/// * While a `forEach` with more than one iteration runs, OpenBLAS is held at one thread even if
///   a caller raised ``BLAS/threads``; the previous count is restored when the outermost loop
///   ends. Nested loops run their body inline (serially) on the worker, which keeps the total
///   number of busy threads at the core count.
///
/// Use `forEach` for loops whose iterations are independent and each large enough (≥ ~50 µs)
/// to amortise dispatch; call BLAS directly on a whole batch when one big GEMM can do the job.
///
/// Work is cut into up to ``piecesPerThread`` contiguous pieces per worker and handed out
/// dynamically, so when another process takes a core for a while the other worker carries on
/// with the remaining pieces instead of waiting.
public enum Parallel {
    /// Worker count used by ``forEach(_:_:)`` (defaults to the number of active cores).
    nonisolated(unsafe) public static var maxThreads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Pieces of work per worker (see the type's notes).
    public static let piecesPerThread = 4

    /// How many pieces to cut `count` independent items into, each of at least `minimumChunk`
    /// items: between 1 and ``piecesPerThread`` × ``maxThreads``.
    public static func pieces(_ count: Int, minimumChunk: Int = 1) -> Int {
        max(1, min(piecesPerThread * maxThreads, count / max(minimumChunk, 1)))
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var depth = 0
    nonisolated(unsafe) private static var savedBLASThreads = 1

    /// Whether a parallel loop is running (its nested loops and GEMMs run serially).
    public static var isActive: Bool {
        lock.lock(); defer { lock.unlock() }
        return depth > 0
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over up to ``maxThreads`` threads.
    /// Returns when all iterations have finished. Iterations must write disjoint memory.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        _ = Allocator.configure
        _ = BLAS.configure
        lock.lock()
        let nested = depth > 0
        let serial = nested || count == 1 || maxThreads <= 1
        if !serial {
            depth += 1
            savedBLASThreads = Int(openblas_get_num_threads())
            openblas_set_num_threads(1)
        }
        lock.unlock()
        if serial {
            for i in 0..<count { body(i) }
            return
        }
        defer {
            lock.lock()
            depth -= 1
            if depth == 0 { openblas_set_num_threads(Int32(savedBLASThreads)) }
            lock.unlock()
        }
        let n = pieces(count)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: n) { w in
                // Contiguous pieces keep each thread's memory local.
                let lo = count * w / n, hi = count * (w + 1) / n
                for i in lo..<hi { body(i) }
            }
        }
    }

    /// Splits `0..<count` into contiguous ranges of at least `minimumChunk` elements (at most
    /// ``piecesPerThread`` × ``maxThreads``) and calls `body` on each, concurrently when there is
    /// more than one. For elementwise loops over big tensors; small ones run inline.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
        let chunks = pieces(count, minimumChunk: minimumChunk)
        if chunks <= 1 || maxThreads <= 1 { if count > 0 { body(0..<count) }; return }
        forEach(chunks) { c in body((count * c / chunks)..<(count * (c + 1) / chunks)) }
    }
}
