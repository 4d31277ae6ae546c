#include "ckernels_step.h"
#include "ckernels_team.h"
#include "ssm_math.h"
#include <math.h>

// Weights packed in blocks of SSM_AFFINE_BLOCK outputs: packed[(ob·in + i)·BLOCK + l] = W[ob·BLOCK + l, i]
// (zero past `out`), so each block's weights stream once, in order, into BLOCK accumulators.
void ssm_step_affine_pack(const float *restrict w, long in, long out, float *restrict packed) {
    long blocks = (out + SSM_AFFINE_BLOCK - 1) / SSM_AFFINE_BLOCK;
    for (long ob = 0; ob < blocks; ob++)
        for (long i = 0; i < in; i++)
            for (long l = 0; l < SSM_AFFINE_BLOCK; l++) {
                long o = ob * SSM_AFFINE_BLOCK + l;
                packed[(ob * in + i) * SSM_AFFINE_BLOCK + l] = o < out ? w[o * in + i] : 0;
            }
}

// Output blocks [b0, b1) of ssm_step_affine.
SSM_CLONES
static void ssm_step_affine_blocks(const float *restrict x, long batch, long in, const void *weights,
                            const float *restrict bias, long out, float *restrict y, int accumulate, long b0, long b1) {
    enum { K = SSM_AFFINE_BLOCK };
    const float *restrict packed = weights;
    for (long ob = b0; ob < b1; ob++) {
        const float *restrict p = packed + ob * in * K;
        long o0 = ob * K, n = out - o0 < K ? out - o0 : K;
        // Every row alike (the same sums in the same order whatever the batch), even and odd
        // inputs in separate accumulators (two independent FMA chains per lane).
        long b = 0;
        for (; b < batch; b++) {
            float a0[K], a1[K];
            for (long l = 0; l < K; l++) { a0[l] = 0; a1[l] = 0; }
            const float *restrict x0 = x + b * in;
            long i = 0;
            for (; i + 2 <= in; i += 2) {
                const float u = x0[i], v = x0[i + 1];
                const float *restrict w = p + i * K;
                for (long l = 0; l < K; l++) { a0[l] += u * w[l]; a1[l] += v * w[K + l]; }
            }
            for (; i < in; i++) {
                const float u = x0[i];
                const float *restrict w = p + i * K;
                for (long l = 0; l < K; l++) a0[l] += u * w[l];
            }
            float *restrict y0 = y + b * out + o0;
            for (long l = 0; l < n; l++) y0[l] = (accumulate ? y0[l] : 0) + (bias ? bias[o0 + l] : 0) + a0[l] + a1[l];
        }
    }
}

// Rows in pairs (batches of two or more): each weight is loaded (and widened, for halves) once for
// two rows. Each row's sums are those of the one-row kernels — per lane, even and odd inputs in two
// fused multiply–add chains in input order, then (y or 0) + bias + even + odd — so a row's result
// does not depend on whether it ran in a pair. Only where the one-row kernels run their x86-64-v3
// build (the same fused multiply–adds); 16 outputs (half a block) at a time to stay in registers.
#if defined(__x86_64__)
#include <immintrin.h>
#define SSM_AFFINE_PAIRS(NAME, WTYPE, LOAD8)                                                                  \
__attribute__((target("avx2,fma,f16c")))                                                                      \
static void NAME(const float *restrict x, long pairs, long in, const void *weights,                          \
                 const float *restrict bias, long out, float *restrict y, int accumulate, long b0, long b1) {  \
    enum { K = SSM_AFFINE_BLOCK };                                                                            \
    const WTYPE *restrict packed = weights;                                                                   \
    for (long ob = b0; ob < b1; ob++) {                                                                       \
        const WTYPE *restrict p = packed + ob * in * K;                                                       \
        long o0 = ob * K, n = out - o0 < K ? out - o0 : K;                                                    \
        for (long r = 0; r < 2 * pairs; r += 2) {                                                             \
            const float *restrict xa = x + r * in, *restrict xb = xa + in;                                    \
            for (long half = 0; half < 2 && half * 16 < n; half++) {                                          \
                __m256 ea0 = _mm256_setzero_ps(), ea1 = ea0, oa0 = ea0, oa1 = ea0;                            \
                __m256 eb0 = ea0, eb1 = ea0, ob0 = ea0, ob1 = ea0;                                            \
                const WTYPE *restrict q = p + half * 16;                                                      \
                long i = 0;                                                                                   \
                for (; i + 2 <= in; i += 2) {                                                                 \
                    const WTYPE *restrict w = q + i * K;                                                      \
                    const __m256 w0 = LOAD8(w), w1 = LOAD8(w + 8), v0 = LOAD8(w + K), v1 = LOAD8(w + K + 8);  \
                    const __m256 ua = _mm256_broadcast_ss(xa + i), va = _mm256_broadcast_ss(xa + i + 1);      \
                    const __m256 ub = _mm256_broadcast_ss(xb + i), vb = _mm256_broadcast_ss(xb + i + 1);      \
                    ea0 = _mm256_fmadd_ps(ua, w0, ea0); ea1 = _mm256_fmadd_ps(ua, w1, ea1);                   \
                    oa0 = _mm256_fmadd_ps(va, v0, oa0); oa1 = _mm256_fmadd_ps(va, v1, oa1);                   \
                    eb0 = _mm256_fmadd_ps(ub, w0, eb0); eb1 = _mm256_fmadd_ps(ub, w1, eb1);                   \
                    ob0 = _mm256_fmadd_ps(vb, v0, ob0); ob1 = _mm256_fmadd_ps(vb, v1, ob1);                   \
                }                                                                                             \
                if (i < in) {                                                                                 \
                    const WTYPE *restrict w = q + i * K;                                                      \
                    const __m256 w0 = LOAD8(w), w1 = LOAD8(w + 8);                                            \
                    const __m256 ua = _mm256_broadcast_ss(xa + i), ub = _mm256_broadcast_ss(xb + i);          \
                    ea0 = _mm256_fmadd_ps(ua, w0, ea0); ea1 = _mm256_fmadd_ps(ua, w1, ea1);                   \
                    eb0 = _mm256_fmadd_ps(ub, w0, eb0); eb1 = _mm256_fmadd_ps(ub, w1, eb1);                   \
                }                                                                                             \
                float e[2][16], o[2][16];                                                                     \
                _mm256_storeu_ps(e[0], ea0); _mm256_storeu_ps(e[0] + 8, ea1);                                 \
                _mm256_storeu_ps(o[0], oa0); _mm256_storeu_ps(o[0] + 8, oa1);                                 \
                _mm256_storeu_ps(e[1], eb0); _mm256_storeu_ps(e[1] + 8, eb1);                                 \
                _mm256_storeu_ps(o[1], ob0); _mm256_storeu_ps(o[1] + 8, ob1);                                 \
                long m = n - half * 16 < 16 ? n - half * 16 : 16;                                             \
                for (int row = 0; row < 2; row++) {                                                           \
                    float *restrict yr = y + (r + row) * out + o0 + half * 16;                                \
                    const float *restrict br = bias ? bias + o0 + half * 16 : 0;                              \
                    for (long l = 0; l < m; l++) yr[l] = (accumulate ? yr[l] : 0) + (br ? br[l] : 0) + e[row][l] + o[row][l]; \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
}
#define SSM_LOAD_F32(w) _mm256_loadu_ps(w)
#define SSM_LOAD_F16(w) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w)))
// One row at a time (batch 1, or the odd row of a batch): per block, 32 accumulators in eight
// registers, even and odd inputs in separate fused multiply–add chains, the sums in the order of
// the portable kernels: ((y or 0) + (bias or 0) + even) + odd.
#define SSM_AFFINE_ROWS(NAME, WTYPE, LOAD8)                                                                   \
__attribute__((target("avx2,fma,f16c")))                                                                      \
static void NAME(const float *restrict x, long batch, long in, const void *weights,                          \
                 const float *restrict bias, long out, float *restrict y, int accumulate, long b0, long b1) {  \
    enum { K = SSM_AFFINE_BLOCK };                                                                            \
    const WTYPE *restrict packed = weights;                                                                   \
    for (long ob = b0; ob < b1; ob++) {                                                                       \
        const WTYPE *restrict p = packed + ob * in * K;                                                       \
        long o0 = ob * K, n = out - o0 < K ? out - o0 : K;                                                    \
        for (long b = 0; b < batch; b++) {                                                                    \
            __m256 e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, d0 = e0, d1 = e0, d2 = e0, d3 = e0;   \
            const float *restrict x0 = x + b * in;                                                            \
            long i = 0;                                                                                       \
            for (; i + 2 <= in; i += 2) {                                                                     \
                const __m256 u = _mm256_broadcast_ss(x0 + i), v = _mm256_broadcast_ss(x0 + i + 1);            \
                const WTYPE *restrict w = p + i * K;                                                          \
                e0 = _mm256_fmadd_ps(u, LOAD8(w), e0);          e1 = _mm256_fmadd_ps(u, LOAD8(w + 8), e1);    \
                e2 = _mm256_fmadd_ps(u, LOAD8(w + 16), e2);     e3 = _mm256_fmadd_ps(u, LOAD8(w + 24), e3);   \
                d0 = _mm256_fmadd_ps(v, LOAD8(w + K), d0);      d1 = _mm256_fmadd_ps(v, LOAD8(w + K + 8), d1); \
                d2 = _mm256_fmadd_ps(v, LOAD8(w + K + 16), d2); d3 = _mm256_fmadd_ps(v, LOAD8(w + K + 24), d3); \
            }                                                                                                 \
            if (i < in) {                                                                                     \
                const __m256 u = _mm256_broadcast_ss(x0 + i);                                                 \
                const WTYPE *restrict w = p + i * K;                                                          \
                e0 = _mm256_fmadd_ps(u, LOAD8(w), e0);      e1 = _mm256_fmadd_ps(u, LOAD8(w + 8), e1);        \
                e2 = _mm256_fmadd_ps(u, LOAD8(w + 16), e2); e3 = _mm256_fmadd_ps(u, LOAD8(w + 24), e3);       \
            }                                                                                                 \
            float *restrict y0 = y + b * out + o0;                                                            \
            if (n == K) {                                                                                     \
                const __m256 e[4] = { e0, e1, e2, e3 }, d[4] = { d0, d1, d2, d3 };                            \
                for (int q = 0; q < 4; q++) {                                                                 \
                    __m256 r = accumulate ? _mm256_loadu_ps(y0 + 8 * q) : _mm256_setzero_ps();                \
                    r = _mm256_add_ps(r, bias ? _mm256_loadu_ps(bias + o0 + 8 * q) : _mm256_setzero_ps());    \
                    _mm256_storeu_ps(y0 + 8 * q, _mm256_add_ps(_mm256_add_ps(r, e[q]), d[q]));                \
                }                                                                                             \
                continue;                                                                                     \
            }                                                                                                 \
            float a0[K], a1[K];                                                                               \
            _mm256_storeu_ps(a0, e0); _mm256_storeu_ps(a0 + 8, e1); _mm256_storeu_ps(a0 + 16, e2); _mm256_storeu_ps(a0 + 24, e3); \
            _mm256_storeu_ps(a1, d0); _mm256_storeu_ps(a1 + 8, d1); _mm256_storeu_ps(a1 + 16, d2); _mm256_storeu_ps(a1 + 24, d3); \
            for (long l = 0; l < n; l++) y0[l] = (accumulate ? y0[l] : 0) + (bias ? bias[o0 + l] : 0) + a0[l] + a1[l]; \
        }                                                                                                     \
    }                                                                                                         \
}
SSM_AFFINE_ROWS(affine_rows_f32, float, SSM_LOAD_F32)
SSM_AFFINE_ROWS(affine_rows_f16, unsigned short, SSM_LOAD_F16)
SSM_AFFINE_PAIRS(affine_pairs_f32, float, SSM_LOAD_F32)
SSM_AFFINE_PAIRS(affine_pairs_f16, unsigned short, SSM_LOAD_F16)

static int has_v3(void) {
    static int v = -1;
    if (v < 0) { __builtin_cpu_init(); v = __builtin_cpu_supports("x86-64-v3") ? 1 : 0; }
    return v;
}
#endif

// Work (multiply–adds) below which a kernel stays on one thread. An empty fork–join costs 0.1–0.5 µs
// on the 2-core machines measured (two cache-line trips between cores); below these sizes (a
// 64 → 128 product, the recurrence of 64 features) splitting measured slower on the W2 SaShiMi step.
enum { TEAM_MIN_AFFINE = 16384, TEAM_MIN_DIAGONAL = 12288 };

static long team_parts(long work, long units, int which) {
    int t = ssm_team_threads();
    if (t <= 1 || work < (which ? TEAM_MIN_DIAGONAL : TEAM_MIN_AFFINE)) return 1;
    return units < t ? units : t;
}

// One affine step over output blocks, for either weight format: `rows` computes rows one at a time,
// `pairs` (NULL where unavailable) two at a time.
typedef void (*affine_kernel)(const float *, long, long, const void *, const float *, long, float *, int, long, long);

typedef struct {
    const float *x, *bias;
    const void *packed;
    float *y;
    long batch, in, out;
    int accumulate;
    affine_kernel rows, pairs;
} affine_task;

static void affine_part(void *ctx, long part, long parts) {
    const affine_task *a = ctx;
    long blocks = (a->out + SSM_AFFINE_BLOCK - 1) / SSM_AFFINE_BLOCK;
    long b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts, paired = 0;
    if (a->pairs && a->batch >= 2) {
        paired = a->batch / 2 * 2;
        a->pairs(a->x, paired / 2, a->in, a->packed, a->bias, a->out, a->y, a->accumulate, b0, b1);
    }
    a->rows(a->x + paired * a->in, a->batch - paired, a->in, a->packed, a->bias, a->out, a->y + paired * a->out,
            a->accumulate, b0, b1);
}

static void affine_run(affine_task a) {
    long blocks = (a.out + SSM_AFFINE_BLOCK - 1) / SSM_AFFINE_BLOCK;
    ssm_team_run(affine_part, &a, team_parts(a.batch * a.in * a.out, blocks, 0));
}

void ssm_step_affine(const float *x, long batch, long in, const float *packed,
                     const float *bias, long out, float *y, int accumulate) {
    affine_kernel rows = ssm_step_affine_blocks, pairs = 0;
#if defined(__x86_64__)
    if (has_v3()) { rows = affine_rows_f32; pairs = affine_pairs_f32; }
#endif
    affine_run((affine_task){ x, bias, packed, y, batch, in, out, accumulate, rows, pairs });
}

// ---- Diagonal recurrence ----------------------------------------------------------------------
// Blocks of 16 features (one cache line of Float): per block, per mode k, the real and imaginary
// lines of dA, then of dC·dB for each output channel; the state per batch row and block holds, per
// mode, a line of real and a line of imaginary parts. A block's coefficients and states are
// contiguous, so the team's parts (whole blocks) touch disjoint memory.
enum { DIAG_L = SSM_DIAGONAL_BLOCK };

long ssm_step_diagonal_packed_count(long h, long n, long c) { return (h + DIAG_L - 1) / DIAG_L * n * (2 + 2 * c) * DIAG_L; }

long ssm_step_diagonal_state_count(long h, long n) { return (h + DIAG_L - 1) / DIAG_L * n * 2 * DIAG_L; }

void ssm_step_diagonal_pack(long h, long n, long c, const float *ar, const float *ai, const float *br, const float *bi,
                            const float *cr, const float *ci, float *packed) {
    const long blocks = (h + DIAG_L - 1) / DIAG_L, stride = (2 + 2 * c) * DIAG_L;
    for (long jb = 0; jb < blocks; jb++)
        for (long k = 0; k < n; k++) {
            float *p = packed + (jb * n + k) * stride;
            for (long l = 0; l < DIAG_L; l++) {
                const long j = jb * DIAG_L + l, i = k * h + j;
                const int in = j < h;
                p[l] = in ? ar[i] : 0;
                p[DIAG_L + l] = in ? ai[i] : 0;
                for (long co = 0; co < c; co++) {
                    const long q = (co * n + k) * h + j;
                    // (cr + i·ci)(br + i·bi), rounded once.
                    const double re = in ? (double)cr[q] * br[i] - (double)ci[q] * bi[i] : 0;
                    const double im = in ? (double)cr[q] * bi[i] + (double)ci[q] * br[i] : 0;
                    p[(2 + 2 * co) * DIAG_L + l] = (float)re;
                    p[(3 + 2 * co) * DIAG_L + l] = (float)im;
                }
            }
        }
}

// Blocks [jb0, jb1) of ssm_step_diagonal, every batch row per block (a block's coefficients are
// read from memory once per step whatever the batch). Each lane: s ← a·s + x, acc += Re(c·s)
// mode by mode, y = 2·acc; one output channel keeps its sums in registers.
SSM_CLONES
static void diagonal_blocks(const float *restrict u, long batch, long h, long n, long c,
                            const float *restrict packed, float *restrict state, float *restrict y, long jb0, long jb1) {
    enum { L = DIAG_L };
    const long blocks = (h + L - 1) / L, stride = (2 + 2 * c) * L;
    for (long jb = jb0; jb < jb1; jb++) {
        const float *restrict pb = packed + jb * n * stride;
        const long j0 = jb * L, m = h - j0 < L ? h - j0 : L;
        for (long b = 0; b < batch; b++) {
            float *restrict s = state + (b * blocks + jb) * n * 2 * L;
            float x[L];
            for (long l = 0; l < L; l++) x[l] = l < m ? u[b * h + j0 + l] : 0;
            if (c == 1) {
                float acc[L];
                for (long l = 0; l < L; l++) acc[l] = 0;
                for (long k = 0; k < n; k++) {
                    const float *restrict p = pb + k * stride;
                    float *restrict sk = s + k * 2 * L;
                    for (long l = 0; l < L; l++) {
                        const float r = sk[l], i = sk[L + l];
                        const float nr = p[l] * r - p[L + l] * i + x[l];
                        const float ni = p[l] * i + p[L + l] * r;
                        sk[l] = nr;
                        sk[L + l] = ni;
                        acc[l] += p[2 * L + l] * nr - p[3 * L + l] * ni;
                    }
                }
                float *restrict yb = y + b * h + j0;
                for (long l = 0; l < m; l++) yb[l] = 2 * acc[l];
                continue;
            }
            float acc[L];
            for (long co = 0; co < c; co++) {
                float *restrict yb = y + (b * c + co) * h + j0;
                for (long l = 0; l < m; l++) yb[l] = 0;
            }
            for (long k = 0; k < n; k++) {
                const float *restrict p = pb + k * stride;
                float *restrict sk = s + k * 2 * L;
                for (long l = 0; l < L; l++) {
                    const float r = sk[l], i = sk[L + l];
                    sk[l] = p[l] * r - p[L + l] * i + x[l];
                    sk[L + l] = p[l] * i + p[L + l] * r;
                }
                for (long co = 0; co < c; co++) {
                    const float *restrict q = p + (2 + 2 * co) * L;
                    float *restrict yb = y + (b * c + co) * h + j0;
                    for (long l = 0; l < L; l++) acc[l] = q[l] * sk[l] - q[L + l] * sk[L + l];
                    for (long l = 0; l < m; l++) yb[l] += acc[l];
                }
            }
            for (long co = 0; co < c; co++) {
                float *restrict yb = y + (b * c + co) * h + j0;
                for (long l = 0; l < m; l++) yb[l] *= 2;
            }
        }
    }
}

typedef struct {
    const float *u, *packed;
    float *state, *y;
    long batch, h, n, c;
} diagonal_task;

static void diagonal_part(void *ctx, long part, long parts) {
    const diagonal_task *d = ctx;
    const long blocks = (d->h + DIAG_L - 1) / DIAG_L;
    diagonal_blocks(d->u, d->batch, d->h, d->n, d->c, d->packed, d->state, d->y,
                    blocks * part / parts, blocks * (part + 1) / parts);
}

void ssm_step_diagonal(const float *u, long batch, long h, long n, long c, const float *packed, float *state, float *y) {
    diagonal_task d = { u, packed, state, y, batch, h, n, c };
    ssm_team_run(diagonal_part, &d, team_parts(batch * n * h * (2 + c), (h + DIAG_L - 1) / DIAG_L, 1));
}

SSM_CLONES
void ssm_step_layernorm(const float *x, long batch, long h, const float *restrict w, const float *restrict b,
                        float eps, float *y) {
    for (long r = 0; r < batch; r++) {
        const float *xr = x + r * h;
        float *yr = y + r * h;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long k = 0;
        for (; k + 8 <= h; k += 8)
            for (int l = 0; l < 8; l++) acc[l] += xr[k + l];
        float s = 0;
        for (; k < h; k++) s += xr[k];
        for (int l = 0; l < 8; l++) s += acc[l];
        const float mean = s / (float)h;
        float vacc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        k = 0;
        for (; k + 8 <= h; k += 8)
            for (int l = 0; l < 8; l++) { float d = xr[k + l] - mean; vacc[l] += d * d; }
        float v = 0;
        for (; k < h; k++) { float d = xr[k] - mean; v += d * d; }
        for (int l = 0; l < 8; l++) v += vacc[l];
        const float rstd = 1.0f / sqrtf(v / (float)h + eps);
        for (k = 0; k < h; k++) yr[k] = (xr[k] - mean) * rstd * w[k] + b[k];
    }
}

SSM_CLONES
void ssm_step_gelu(float *restrict x, long n) {
    for (long i = 0; i < n; i++) {
        float pdf;
        x[i] = x[i] * ssm_normal_cdf(x[i], &pdf);
    }
}

SSM_CLONES
void ssm_step_add(float *restrict y, const float *restrict x, long n) {
    for (long i = 0; i < n; i++) y[i] += x[i];
}

// ---- Half-precision weights -------------------------------------------------------------------
// IEEE binary16 ↔ binary32 by bit manipulation for the portable path (round to nearest even).
static float half_to_float(unsigned short h) {
    unsigned int sign = (unsigned int)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {                                           // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((unsigned int)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    union { unsigned int u; float f; } r = { bits };
    return r.f;
}

static unsigned short float_to_half(float f) {
    union { float f; unsigned int u; } v = { f };
    unsigned int sign = (v.u >> 16) & 0x8000, a = v.u & 0x7fffffff;
    if (a >= 0x7f800000u) return (unsigned short)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
    if (a >= 0x477ff000u) return (unsigned short)(sign | 0x7c00);          // rounds past 65504: ∞
    if (a < 0x38800000u) {                                                  // below 2^−14: subnormal or 0
        if (a < 0x33000000u) return (unsigned short)sign;                   // < 2^−25 rounds to 0
        unsigned int e = a >> 23, man = (a & 0x7fffff) | 0x800000;
        unsigned int shift = 126 - e;                                       // 14 − (e − 127) + 13 − 1 + 1
        unsigned int q = man >> shift, rem = man & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1))) q++;
        return (unsigned short)(sign | q);
    }
    unsigned int q = ((a >> 13) - ((127 - 15) << 10)), rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (unsigned short)(sign | q);
}

float ssm_half_to_float(unsigned short h) { return half_to_float(h); }
unsigned short ssm_float_to_half(float f) { return float_to_half(f); }

int ssm_step_affine_pack_f16(const float *restrict w, long in, long out, unsigned short *restrict packed) {
    for (long i = 0; i < in * out; i++) if (!(w[i] <= 65504.0f && w[i] >= -65504.0f)) return -1;
    long blocks = (out + SSM_AFFINE_BLOCK - 1) / SSM_AFFINE_BLOCK;
    for (long ob = 0; ob < blocks; ob++)
        for (long i = 0; i < in; i++)
            for (long l = 0; l < SSM_AFFINE_BLOCK; l++) {
                long o = ob * SSM_AFFINE_BLOCK + l;
                packed[(ob * in + i) * SSM_AFFINE_BLOCK + l] = o < out ? float_to_half(w[o * in + i]) : 0;
            }
    return 0;
}

// The same sums as ssm_step_affine_blocks (even and odd inputs in two accumulators per lane, in
// input order, each a fused multiply–add), with each weight widened from half precision first.
static void affine_f16_portable(const float *restrict x, long batch, long in, const void *weights,
                                const float *restrict bias, long out, float *restrict y, int accumulate, long b0, long b1) {
    enum { K = SSM_AFFINE_BLOCK };
    const unsigned short *restrict packed = weights;
    for (long ob = b0; ob < b1; ob++) {
        const unsigned short *restrict p = packed + ob * in * K;
        long o0 = ob * K, n = out - o0 < K ? out - o0 : K;
        for (long b = 0; b < batch; b++) {
            float a0[K], a1[K];
            for (long l = 0; l < K; l++) { a0[l] = 0; a1[l] = 0; }
            const float *restrict x0 = x + b * in;
            long i = 0;
            for (; i + 2 <= in; i += 2) {
                const float u = x0[i], v = x0[i + 1];
                const unsigned short *restrict w = p + i * K;
                for (long l = 0; l < K; l++) { a0[l] = fmaf(u, half_to_float(w[l]), a0[l]); a1[l] = fmaf(v, half_to_float(w[K + l]), a1[l]); }
            }
            for (; i < in; i++) {
                const unsigned short *restrict w = p + i * K;
                for (long l = 0; l < K; l++) a0[l] = fmaf(x0[i], half_to_float(w[l]), a0[l]);
            }
            float *restrict y0 = y + b * out + o0;
            for (long l = 0; l < n; l++) y0[l] = (accumulate ? y0[l] : 0) + (bias ? bias[o0 + l] : 0) + a0[l] + a1[l];
        }
    }
}

static affine_kernel affine_f16_kernel(void) {
    static affine_kernel chosen = 0;
    if (!chosen) {
#if defined(__x86_64__)
        __builtin_cpu_init();
        chosen = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
            ? affine_rows_f16 : affine_f16_portable;
#else
        chosen = affine_f16_portable;
#endif
    }
    return chosen;
}

void ssm_step_affine_f16(const float *x, long batch, long in, const unsigned short *packed,
                         const float *bias, long out, float *y, int accumulate) {
    affine_kernel rows = affine_f16_kernel(), pairs = 0;
#if defined(__x86_64__)
    if (rows == affine_rows_f16) pairs = affine_pairs_f16;
#endif
    affine_run((affine_task){ x, bias, packed, y, batch, in, out, accumulate, rows, pairs });
}

void ssm_step_affine_f16_portable(const float *x, long batch, long in, const unsigned short *packed,
                                  const float *bias, long out, float *y, int accumulate) {
    affine_f16_portable(x, batch, in, packed, bias, out, y, accumulate, 0, (out + SSM_AFFINE_BLOCK - 1) / SSM_AFFINE_BLOCK);
}
