#ifndef SSM_CKERNELS_STEP_H
#define SSM_CKERNELS_STEP_H

// Kernels of one recurrent (generation) step: small row-batched products and element-wise passes
// over (batch, features) buffers, compiled for AVX2/FMA with a portable fallback chosen at load time.
// At batch 1 these are matrix–vector products, where a library GEMM's per-call overhead dominates.

// y[b, o] = bias[o] + Σ_i x[b, i]·wt[i, o] for b < batch, o < out. `wt` is the transposed weight
// (in, out), row-major; `bias` may be NULL (then 0). When `accumulate` is non-zero, y is added to.
void ssm_step_affine(const float *x, long batch, long in, const float *wt, const float *bias, long out,
                     float *y, int accumulate);

// One step of H independent diagonal complex SSMs with N/2 = n modes and c outputs each, planar:
//   s[b, h, k] ← dA[h, k]·s[b, h, k] + dB[h, k]·u[b, h]          (complex; s = sr + i·si)
//   y[b, ci, h] = 2·Re Σ_k dC[ci, h, k]·s[b, h, k]
// Shapes: u (batch, h); ar, ai, br, bi (h, n); cr, ci (c, h, n); sr, si (batch, h, n); y (batch, c, h).
void ssm_step_diagonal(const float *u, long batch, long h, long n, long c,
                       const float *ar, const float *ai, const float *br, const float *bi,
                       const float *cr, const float *ci, float *sr, float *si, float *y);

// LayerNorm of each row of x (batch, h): y = (x − μ)/√(σ² + eps)·w + b (biased σ²). y may be x.
void ssm_step_layernorm(const float *x, long batch, long h, const float *w, const float *b, float eps, float *y);

// x[i] ← gelu(x[i]) (erf form, the Φ approximation of ssm_math.h).
void ssm_step_gelu(float *x, long n);

// y[i] += x[i].
void ssm_step_add(float *y, const float *x, long n);

#endif
