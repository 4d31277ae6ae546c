#ifndef SSM_CKERNELS_MAMBA_H
#define SSM_CKERNELS_MAMBA_H

// Element-wise stages of the Mamba block, fused, on channel-first data: each call covers one
// channel, `rows` sequences of length L stored one after another (or one contiguous run of n).
// Compiled for AVX2/FMA with a portable fallback chosen at load time; callers parallelise over
// channels.

// Causal depthwise conv1d + bias + SiLU of one channel, taps w[0..W) (w[W−1] on the current step):
//   p[t] = bias + Σ_k w[k]·x[t − (W−1) + k]   (zero before the start of each row)
//   out[t] = p[t]·σ(p[t])
// When `pre` is not NULL it receives p (kept for the backward pass).
void ssm_conv_silu_forward(const float *x, long rows, long L, const float *w, long W, float bias,
                           float *pre, float *out);

// Its backward from the output gradient g: with dp = g·σ(p)·(1 + p·(1 − σ(p))), writes
// dx[j] = Σ_k w[k]·dp[j + (W−1) − k], adds Σ_t dp[t]·x[t − (W−1) + k] to dw[k] and returns Σ dp
// (the gradient of the bias). `scratch` holds L floats.
float ssm_conv_silu_backward(const float *x, const float *pre, const float *g, long rows, long L,
                             const float *w, long W, float *dx, float *dw, float *scratch);

// out[i] = scale·softplus(x[i]) with softplus(v) = max(v, 0) + log1p(exp(−|v|)).
void ssm_softplus_forward(const float *x, float scale, float *out, long n);

// dx[i] = (g[i]·scale)·σ(x[i]).
void ssm_softplus_backward(const float *g, const float *x, float scale, float *dx, long n);

// Mamba's output gate for one channel: out[i] = (y[i] + d·x[i])·z[i]·σ(z[i]).
void ssm_mamba_gate_forward(const float *y, const float *x, float d, const float *z, float *out, long n);

// Its backward: with v = y + d·x and s = σ(z), dy[i] = g·z·s, dx[i] = d·dy[i],
// dz[i] = g·v·s·(1 + z·(1 − s)); returns Σ dy[i]·x[i] (the gradient of d).
float ssm_mamba_gate_backward(const float *g, const float *y, const float *x, float d, const float *z,
                              float *dy, float *dx, float *dz, long n);

#endif
