#include <math.h>
#include "ckernels_mamba.h"
#include "ssm_math.h"

SSM_CLONES
void ssm_conv_silu_forward(const float *restrict x, long rows, long L, const float *restrict w, long W, float bias,
                           float *restrict pre, float *restrict out) {
    float *p = pre ? pre : out;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * L;
        float *pr = p + r * L, *orow = out + r * L;
        for (long t = 0; t < L; t++) pr[t] = bias;
        // Tap k reads x[t − (W−1) + k]: start where that index is ≥ 0.
        for (long k = 0; k < W; k++) {
            long shift = W - 1 - k;
            float wk = w[k];
            for (long t = shift; t < L; t++) pr[t] += wk * xr[t - shift];
        }
        for (long t = 0; t < L; t++) { float v = pr[t]; orow[t] = v * ssm_sigmoid(v); }
    }
}

SSM_CLONES
float ssm_conv_silu_backward(const float *restrict x, const float *restrict pre, const float *restrict g, long rows,
                             long L, const float *restrict w, long W, float *restrict dx, float *restrict dw,
                             float *restrict scratch) {
    float dbias = 0;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * L, *pr = pre + r * L, *gr = g + r * L;
        float *dxr = dx + r * L, *dp = scratch;
        float sb = 0;
        for (long t = 0; t < L; t++) {
            float v = pr[t], s = ssm_sigmoid(v);
            float d = gr[t] * (s + v * s * (1 - s));
            dp[t] = d;
            sb += d;
        }
        dbias += sb;
        for (long j = 0; j < L; j++) dxr[j] = 0;
        for (long k = 0; k < W; k++) {
            long shift = W - 1 - k;
            float wk = w[k];
            for (long t = shift; t < L; t++) dxr[t - shift] += wk * dp[t];
            dw[k] += ssm_dot_product(dp + shift, xr, L - shift);
        }
    }
    return dbias;
}

SSM_CLONES
void ssm_softplus_forward(const float *restrict x, float scale, float *restrict out, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        out[i] = scale * ((v > 0 ? v : 0) + log1pf(expf(-fabsf(v))));
    }
}

SSM_CLONES
void ssm_softplus_backward(const float *restrict g, const float *restrict x, float scale, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float s = v >= 0 ? 1 / (1 + expf(-v)) : expf(v) / (1 + expf(v));
        dx[i] = (g[i] * scale) * s;
    }
}

SSM_CLONES
void ssm_mamba_gate_forward(const float *restrict y, const float *restrict x, float d, const float *restrict z,
                            float *restrict out, long n) {
    for (long i = 0; i < n; i++) {
        float zi = z[i];
        out[i] = (y[i] + d * x[i]) * (zi * ssm_sigmoid(zi));
    }
}

SSM_CLONES
float ssm_mamba_gate_backward(const float *restrict g, const float *restrict y, const float *restrict x, float d,
                              const float *restrict z, float *restrict dy, float *restrict dx, float *restrict dz,
                              long n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) {
            float zi = z[i + l], s = ssm_sigmoid(zi), gi = g[i + l], xi = x[i + l];
            float v = y[i + l] + d * xi, dv = gi * (zi * s);
            dy[i + l] = dv;
            dx[i + l] = d * dv;
            dz[i + l] = gi * v * (s * (1 + zi * (1 - s)));
            acc[l] += dv * xi;
        }
    }
    float sum = 0;
    for (; i < n; i++) {
        float zi = z[i], s = ssm_sigmoid(zi), gi = g[i], xi = x[i];
        float v = y[i] + d * xi, dv = gi * (zi * s);
        dy[i] = dv;
        dx[i] = d * dv;
        dz[i] = gi * v * (s * (1 + zi * (1 - s)));
        sum += dv * xi;
    }
    for (int l = 0; l < 8; l++) sum += acc[l];
    return sum;
}
