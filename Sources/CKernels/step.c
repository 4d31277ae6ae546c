#include "ckernels_step.h"
#include "ssm_math.h"
#include <math.h>

#if defined(__x86_64__) && defined(__linux__)
#define SSM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSM_CLONES
#endif

SSM_CLONES
void ssm_step_affine(const float *restrict x, long batch, long in, const float *restrict wt,
                     const float *restrict bias, long out, float *restrict y, int accumulate) {
    for (long b = 0; b < batch; b++) {
        float *restrict yb = y + b * out;
        if (!accumulate) {
            if (bias) for (long o = 0; o < out; o++) yb[o] = bias[o];
            else for (long o = 0; o < out; o++) yb[o] = 0;
        } else if (bias) {
            for (long o = 0; o < out; o++) yb[o] += bias[o];
        }
    }
    // Row i of Wᵀ is used by every batch row while it is in L1.
    for (long i = 0; i < in; i++) {
        const float *restrict w = wt + i * out;
        for (long b = 0; b < batch; b++) {
            const float xi = x[b * in + i];
            float *restrict yb = y + b * out;
            for (long o = 0; o < out; o++) yb[o] += xi * w[o];
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
        for (long hi = 0; hi < h; hi++) {
            const float x = u[b * h + hi];
            float *restrict pr = sr + (b * h + hi) * n, *restrict pi = si + (b * h + hi) * n;
            const float *restrict a_r = ar + hi * n, *restrict a_i = ai + hi * n;
            const float *restrict b_r = br + hi * n, *restrict b_i = bi + hi * n;
            for (long k = 0; k < n; k++) {
                const float r = pr[k], m = pi[k];
                pr[k] = a_r[k] * r - a_i[k] * m + b_r[k] * x;
                pi[k] = a_r[k] * m + a_i[k] * r + b_i[k] * x;
            }
            for (long co = 0; co < c; co++) {
                const float *restrict c_r = cr + (co * h + hi) * n, *restrict c_i = ci + (co * h + hi) * n;
                float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                long k = 0;
                for (; k + 8 <= n; k += 8)
                    for (int l = 0; l < 8; l++) acc[l] += c_r[k + l] * pr[k + l] - c_i[k + l] * pi[k + l];
                float s = 0;
                for (; k < n; k++) s += c_r[k] * pr[k] - c_i[k] * pi[k];
                for (int l = 0; l < 8; l++) s += acc[l];
                y[(b * c + co) * h + hi] = 2 * s;
            }
        }
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
