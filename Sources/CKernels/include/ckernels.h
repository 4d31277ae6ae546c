#ifndef SSM_CKERNELS_H
#define SSM_CKERNELS_H

#include "ssm_math.h"
#include "ckernels_step.h"
#include "ckernels_scan.h"
#include "ckernels_mamba.h"

// Element-wise kernels of the S4 models, compiled for AVX2/FMA with a portable fallback chosen at
// load time. Each works on one contiguous run of `n` floats; callers parallelise over runs.

// out[i] = gelu(y[i] + d·u[i]) (exact, erf-based). When `z` is not NULL it receives y + d·u.
void ssm_skip_gelu_forward(const float *y, const float *u, float d, float *out, float *z, long n);

// With z = y + d·u: dz[i] = g[i]·(Φ(z) + z·φ(z)); du[i] = d·dz[i] when `du` is not NULL.
// Returns Σ dz[i]·u[i] (the gradient of d).
float ssm_skip_gelu_backward(const float *g, const float *z, const float *u, float d, float *dz, float *du, long n);

// out[i] = a[i]·σ(b[i]).
void ssm_glu_forward(const float *a, const float *b, float *out, long n);

// da[i] = g[i]·σ(b[i]); db[i] = g[i]·a[i]·σ(b[i])·(1 − σ(b[i])).
void ssm_glu_backward(const float *a, const float *b, const float *g, float *da, float *db, long n);

// LayerNorm over the first axis of a (c, stride) matrix, for the columns [0, n) of it:
// y[k, j] = (x[k, j] − μ_j)·r_j·w[k] + b[k] with μ_j, r_j = 1/√(var_j + eps) written to mean[j], rstd[j].
void ssm_channel_layernorm_forward(const float *x, long c, long stride, long n, const float *w, const float *b,
                                   float eps, float *y, float *mean, float *rstd);

// Backward of the above for the same columns: writes gx, adds Σ_j g·x̂ to gw[k] and Σ_j g to gb[k].
// `scratch` holds 2n floats.
void ssm_channel_layernorm_backward(const float *x, const float *g, long c, long stride, long n, const float *w,
                                    const float *mean, const float *rstd, float *gx, float *gw, float *gb,
                                    float *scratch);

#endif
