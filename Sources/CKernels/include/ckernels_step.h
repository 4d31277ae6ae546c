#ifndef SSM_CKERNELS_STEP_H
#define SSM_CKERNELS_STEP_H

// Kernels of one recurrent (generation) step: small row-batched products and element-wise passes
// over (batch, features) buffers, compiled for AVX2/FMA with a portable fallback chosen at load time.
// At batch 1 these are matrix–vector products, where a library GEMM's per-call overhead dominates.
// The affine and diagonal steps split their outputs over the fork–join team (ckernels_team.h) when
// it is on and the work is large enough; results do not depend on the split.

// Outputs per block of the packed affine weights.
#define SSM_AFFINE_BLOCK 32

// Packs a weight W (out, in), row-major, for ssm_step_affine: ceil(out / 32)·in·32 floats.
void ssm_step_affine_pack(const float *w, long in, long out, float *packed);

// y[b, o] = bias[o] + Σ_i x[b, i]·W[o, i] for b < batch, o < out, with W packed by
// ssm_step_affine_pack; `bias` may be NULL (then 0). When `accumulate` is non-zero, y is added to.
void ssm_step_affine(const float *x, long batch, long in, const float *packed, const float *bias, long out,
                     float *y, int accumulate);

// Half-precision weights (IEEE binary16, accumulation in Float): half the bytes to stream per step.
// Packs W like ssm_step_affine_pack, each weight rounded to the nearest half; returns -1 (and packs
// nothing useful) when a weight is not finite or beyond ±65504, else 0.
int ssm_step_affine_pack_f16(const float *w, long in, long out, unsigned short *packed);

// ssm_step_affine with weights packed by ssm_step_affine_pack_f16 (AVX2/F16C when the CPU has it).
void ssm_step_affine_f16(const float *x, long batch, long in, const unsigned short *packed, const float *bias, long out,
                         float *y, int accumulate);

// The portable path of ssm_step_affine_f16 (for tests: it must agree with the vector path bit for bit).
void ssm_step_affine_f16_portable(const float *x, long batch, long in, const unsigned short *packed, const float *bias,
                                  long out, float *y, int accumulate);

// binary16 ↔ binary32 conversions of the portable path (round to nearest even).
float ssm_half_to_float(unsigned short h);
unsigned short ssm_float_to_half(float f);

// One step of H independent diagonal complex SSMs with n = N/2 modes and c outputs each:
//   s[b, k, h] ← dA[k, h]·s[b, k, h] + dB[k, h]·u[b, h]          (complex)
//   y[b, ci, h] = 2·Re Σ_k dC[ci, k, h]·s[b, k, h]
// computed with dB folded into dC (the state holds s/dB): the coefficients are packed by
// ssm_step_diagonal_pack from planar, mode-major dA, dB (n, h) and dC (c, n, h) (real and imaginary
// planes), in blocks of SSM_DIAGONAL_BLOCK features. Shapes: u (batch, h); packed
// ssm_step_diagonal_packed_count(h, n, c) floats; state batch·ssm_step_diagonal_state_count(h, n)
// floats (zero = the initial state); y (batch, c, h). Packed coefficients and states are best
// 64-byte aligned.
#define SSM_DIAGONAL_BLOCK 16
long ssm_step_diagonal_packed_count(long h, long n, long c);
long ssm_step_diagonal_state_count(long h, long n);
void ssm_step_diagonal_pack(long h, long n, long c, const float *ar, const float *ai, const float *br, const float *bi,
                            const float *cr, const float *ci, float *packed);
void ssm_step_diagonal(const float *u, long batch, long h, long n, long c, const float *packed, float *state, float *y);

// LayerNorm of each row of x (batch, h): y = (x − μ)/√(σ² + eps)·w + b (biased σ²). y may be x.
void ssm_step_layernorm(const float *x, long batch, long h, const float *w, const float *b, float eps, float *y);

// x[i] ← gelu(x[i]) (erf form, the Φ approximation of ssm_math.h).
void ssm_step_gelu(float *x, long n);

// y[i] += x[i].
void ssm_step_add(float *y, const float *x, long n);

#endif
