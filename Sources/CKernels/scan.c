#include "ckernels_scan.h"
#include "ssm_math.h"

// The state loops run in blocks of eight lanes (one AVX register) with the sums over the states
// kept per lane and added at the end, so they vectorise for any n (a serial sum would not); the
// states that do not fill a block run one at a time.
#define LANES 8

SSM_CLONES
void ssm_selective_scan_row(const float *restrict u, const float *restrict dt, const float *restrict a,
                            const float *restrict b, const float *restrict c, long L, long n,
                            float *restrict h, float *restrict y) {
    for (long k = 0; k < n; k++) h[k] = 0;
    for (long t = 0; t < L; t++) {
        const float d = dt[t], x = u[t];
        const float *bt = b + t * n, *ct = c + t * n;
        float lane[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
        long k = 0;
        for (; k + LANES <= n; k += LANES)
            for (int l = 0; l < LANES; l++) {
                float v = ssm_fast_exp(d * a[k + l]) * h[k + l] + d * bt[k + l] * x;
                h[k + l] = v;
                lane[l] += ct[k + l] * v;
            }
        float acc = 0;
        for (; k < n; k++) {
            h[k] = ssm_fast_exp(d * a[k]) * h[k] + d * bt[k] * x;
            acc += ct[k] * h[k];
        }
        for (int l = 0; l < LANES; l++) acc += lane[l];
        y[t] = acc;
    }
}

SSM_CLONES
void ssm_selective_scan_row_backward(const float *restrict u, const float *restrict dt, const float *restrict a,
                                     const float *restrict b, const float *restrict c, const float *restrict g,
                                     long L, long n, float *restrict hs, float *restrict at, float *restrict dh,
                                     float *restrict du, float *restrict ddt, float *restrict da,
                                     float *restrict db, float *restrict dc) {
    // hs row t + 1 holds the state after step t (row 0 is h_{−1} = 0); at row t the decay
    // a_t = exp(dt_t·A) (row L is a_L = 0, no step after the last).
    for (long k = 0; k < n; k++) { hs[k] = 0; at[L * n + k] = 0; dh[k] = 0; }
    for (long t = 0; t < L; t++) {
        const float d = dt[t], x = u[t];
        const float *bt = b + t * n, *prev = hs + t * n;
        float *ht = hs + (t + 1) * n, *et = at + t * n;
        for (long k = 0; k < n; k++) {
            float e = ssm_fast_exp(d * a[k]);
            et[k] = e;
            ht[k] = e * prev[k] + d * bt[k] * x;
        }
    }
    for (long t = L - 1; t >= 0; t--) {
        const float d = dt[t], x = u[t], gt = g[t], dx = d * x;
        const float *bt = b + t * n, *ct = c + t * n, *et = at + t * n, *next = at + (t + 1) * n;
        const float *prev = hs + t * n, *ht = hs + (t + 1) * n;
        float *dbt = db + t * n, *dct = dc + t * n;
        float lb[LANES] = {0, 0, 0, 0, 0, 0, 0, 0}, la[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
        long k = 0;
        for (; k + LANES <= n; k += LANES)
            for (int l = 0; l < LANES; l++) {
                long i = k + l;
                float v = next[i] * dh[i] + gt * ct[i];                 // dh_t
                dh[i] = v;
                float ah = et[i] * prev[i];                             // a_t h_{t−1}
                lb[l] += v * bt[i];
                la[l] += v * a[i] * ah;
                da[i] += d * v * ah;
                dbt[i] += v * dx;
                dct[i] += gt * ht[i];
            }
        float sumB = 0, sumA = 0;
        for (; k < n; k++) {
            float v = next[k] * dh[k] + gt * ct[k];
            dh[k] = v;
            float ah = et[k] * prev[k];
            sumB += v * bt[k];
            sumA += v * a[k] * ah;
            da[k] += d * v * ah;
            dbt[k] += v * dx;
            dct[k] += gt * ht[k];
        }
        for (int l = 0; l < LANES; l++) { sumB += lb[l]; sumA += la[l]; }
        du[t] = d * sumB;
        ddt[t] = x * sumB + sumA;
    }
}
