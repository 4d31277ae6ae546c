#include "ckernels.h"
#include "ssm_math.h"

SSM_CLONES
void ssm_skip_gelu_forward(const float *restrict y, const float *restrict u, float d, float *restrict out,
                           float *restrict z, long n) {
    if (z) {
        for (long i = 0; i < n; i++) {
            float v = y[i] + d * u[i], pdf;
            z[i] = v;
            out[i] = v * ssm_normal_cdf(v, &pdf);
        }
    } else {
        for (long i = 0; i < n; i++) {
            float v = y[i] + d * u[i], pdf;
            out[i] = v * ssm_normal_cdf(v, &pdf);
        }
    }
}

SSM_CLONES
float ssm_skip_gelu_backward(const float *restrict g, const float *restrict z, const float *restrict u, float d,
                             float *restrict dz, float *restrict du, long n) {
    for (long i = 0; i < n; i++) {
        float v = z[i], pdf;
        float cdf = ssm_normal_cdf(v, &pdf);
        dz[i] = g[i] * (cdf + v * pdf);
    }
    if (du) for (long i = 0; i < n; i++) du[i] = d * dz[i];
    return ssm_dot_product(dz, u, n);
}

SSM_CLONES
void ssm_glu_forward(const float *restrict a, const float *restrict b, float *restrict out, long n) {
    for (long i = 0; i < n; i++) out[i] = a[i] * ssm_sigmoid(b[i]);
}

SSM_CLONES
void ssm_glu_backward(const float *restrict a, const float *restrict b, const float *restrict g,
                      float *restrict da, float *restrict db, long n) {
    for (long i = 0; i < n; i++) {
        float s = ssm_sigmoid(b[i]);
        da[i] = g[i] * s;
        db[i] = g[i] * a[i] * s * (1 - s);
    }
}

SSM_CLONES
void ssm_channel_layernorm_forward(const float *restrict x, long c, long stride, long n, const float *restrict w,
                                   const float *restrict b, float eps, float *restrict y,
                                   float *restrict mean, float *restrict rstd) {
    for (long j = 0; j < n; j++) mean[j] = 0;
    for (long k = 0; k < c; k++) {
        const float *row = x + k * stride;
        for (long j = 0; j < n; j++) mean[j] += row[j];
    }
    float inv = 1.0f / (float)c;
    for (long j = 0; j < n; j++) { mean[j] *= inv; rstd[j] = 0; }
    for (long k = 0; k < c; k++) {
        const float *row = x + k * stride;
        for (long j = 0; j < n; j++) { float dv = row[j] - mean[j]; rstd[j] += dv * dv; }
    }
    for (long j = 0; j < n; j++) rstd[j] = 1 / __builtin_sqrtf(rstd[j] * inv + eps);
    for (long k = 0; k < c; k++) {
        const float *row = x + k * stride;
        float *out = y + k * stride;
        float wk = w[k], bk = b[k];
        for (long j = 0; j < n; j++) out[j] = (row[j] - mean[j]) * rstd[j] * wk + bk;
    }
}

SSM_CLONES
void ssm_channel_layernorm_backward(const float *restrict x, const float *restrict g, long c, long stride, long n,
                                    const float *restrict w, const float *restrict mean, const float *restrict rstd,
                                    float *restrict gx, float *restrict gw, float *restrict gb, float *restrict scratch) {
    float *c1 = scratch, *c2 = scratch + n;
    for (long j = 0; j < n; j++) { c1[j] = 0; c2[j] = 0; }
    for (long k = 0; k < c; k++) {
        const float *xr = x + k * stride, *gr = g + k * stride;
        float wk = w[k];
        float sw[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long j = 0;
        for (; j + 8 <= n; j += 8) {
            for (int l = 0; l < 8; l++) {
                float xh = (xr[j + l] - mean[j + l]) * rstd[j + l], gi = gr[j + l];
                c1[j + l] += gi * wk;
                c2[j + l] += gi * wk * xh;
                sw[l] += gi * xh;
                sb[l] += gi;
            }
        }
        float tw = 0, tb = 0;
        for (; j < n; j++) {
            float xh = (xr[j] - mean[j]) * rstd[j], gi = gr[j];
            c1[j] += gi * wk;
            c2[j] += gi * wk * xh;
            tw += gi * xh;
            tb += gi;
        }
        for (int l = 0; l < 8; l++) { tw += sw[l]; tb += sb[l]; }
        gw[k] += tw;
        gb[k] += tb;
    }
    float inv = 1.0f / (float)c;
    for (long j = 0; j < n; j++) { c1[j] *= inv; c2[j] *= inv; }
    for (long k = 0; k < c; k++) {
        const float *xr = x + k * stride, *gr = g + k * stride;
        float *out = gx + k * stride;
        float wk = w[k];
        for (long j = 0; j < n; j++) {
            float r = rstd[j], xh = (xr[j] - mean[j]) * r;
            out[j] = r * (gr[j] * wk - c1[j] - xh * c2[j]);
        }
    }
}
