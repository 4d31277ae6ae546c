#include "ckernels_scan.h"
#include "ssm_math.h"

#if defined(__x86_64__) && defined(__linux__)
#define SSM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSM_CLONES
#endif

SSM_CLONES
void ssm_selective_scan_row(const float *restrict u, const float *restrict dt, const float *restrict a,
                            const float *restrict b, const float *restrict c, long L, long n,
                            float *restrict h, float *restrict y) {
    for (long k = 0; k < n; k++) h[k] = 0;
    for (long t = 0; t < L; t++) {
        const float d = dt[t], x = u[t];
        const float *bt = b + t * n, *ct = c + t * n;
        float acc = 0;
        for (long k = 0; k < n; k++) {
            h[k] = ssm_fast_exp(d * a[k]) * h[k] + d * bt[k] * x;
            acc += ct[k] * h[k];
        }
        y[t] = acc;
    }
}

SSM_CLONES
void ssm_selective_scan_row_backward(const float *restrict u, const float *restrict dt, const float *restrict a,
                                     const float *restrict b, const float *restrict c, const float *restrict g,
                                     long L, long n, float *restrict hs, float *restrict at, float *restrict dh,
                                     float *restrict du, float *restrict ddt, float *restrict da,
                                     float *restrict db, float *restrict dc) {
    // States after each step and the decays a_t = exp(dt·A).
    for (long t = 0; t < L; t++) {
        const float d = dt[t], x = u[t];
        const float *bt = b + t * n, *prev = t > 0 ? hs + (t - 1) * n : 0;
        float *ht = hs + t * n, *et = at + t * n;
        for (long k = 0; k < n; k++) {
            float e = ssm_fast_exp(d * a[k]);
            et[k] = e;
            ht[k] = e * (prev ? prev[k] : 0) + d * bt[k] * x;
        }
    }
    for (long k = 0; k < n; k++) dh[k] = 0;
    for (long t = L - 1; t >= 0; t--) {
        const float d = dt[t], x = u[t], gt = g[t];
        const float *bt = b + t * n, *ct = c + t * n, *et = at + t * n;
        const float *next = t + 1 < L ? at + (t + 1) * n : 0, *prev = t > 0 ? hs + (t - 1) * n : 0;
        float *dbt = db + t * n, *dct = dc + t * n;
        const float *ht = hs + t * n;
        float sumB = 0, sumA = 0;
        for (long k = 0; k < n; k++) {
            float v = (next ? next[k] * dh[k] : 0) + gt * ct[k];      // dh_t
            dh[k] = v;
            float ah = et[k] * (prev ? prev[k] : 0);                  // a_t h_{t−1}
            sumB += v * bt[k];
            sumA += v * a[k] * ah;
            da[k] += d * v * ah;
            dbt[k] += v * d * x;
            dct[k] += gt * ht[k];
        }
        du[t] = d * sumB;
        ddt[t] = x * sumB + sumA;
    }
}
