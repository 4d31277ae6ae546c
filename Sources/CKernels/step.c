#include "ckernels_step.h"
#include "ssm_math.h"
#include <math.h>

#if defined(__x86_64__) && defined(__linux__)
#define SSM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSM_CLONES
#endif

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

SSM_CLONES
void ssm_step_affine(const float *restrict x, long batch, long in, const float *restrict packed,
                     const float *restrict bias, long out, float *restrict y, int accumulate) {
    enum { K = SSM_AFFINE_BLOCK };
    long blocks = (out + K - 1) / K;
    for (long ob = 0; ob < blocks; ob++) {
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

SSM_CLONES
void ssm_step_diagonal(const float *restrict u, long batch, long h, long n, long c,
                       const float *restrict ar, const float *restrict ai,
                       const float *restrict br, const float *restrict bi,
                       const float *restrict cr, const float *restrict ci,
                       float *restrict sr, float *restrict si, float *restrict y) {
    for (long b = 0; b < batch; b++) {
        const float *restrict x = u + b * h;
        float *restrict yb = y + b * c * h;
        for (long j = 0; j < c * h; j++) yb[j] = 0;
        float *restrict pr = sr + b * n * h, *restrict pi = si + b * n * h;
        // Mode by mode, all features at once: the feature loop vectorises with no reductions.
        for (long k = 0; k < n; k++) {
            const float *restrict a_r = ar + k * h, *restrict a_i = ai + k * h;
            const float *restrict b_r = br + k * h, *restrict b_i = bi + k * h;
            float *restrict s_r = pr + k * h, *restrict s_i = pi + k * h;
            for (long j = 0; j < h; j++) {
                const float r = s_r[j], m = s_i[j];
                s_r[j] = a_r[j] * r - a_i[j] * m + b_r[j] * x[j];
                s_i[j] = a_r[j] * m + a_i[j] * r + b_i[j] * x[j];
            }
            for (long co = 0; co < c; co++) {
                const float *restrict c_r = cr + (co * n + k) * h, *restrict c_i = ci + (co * n + k) * h;
                float *restrict yc = yb + co * h;
                for (long j = 0; j < h; j++) yc[j] += c_r[j] * s_r[j] - c_i[j] * s_i[j];
            }
        }
        for (long j = 0; j < c * h; j++) yb[j] *= 2;
    }
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
