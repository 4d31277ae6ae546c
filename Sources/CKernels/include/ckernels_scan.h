#ifndef CKERNELS_SCAN_H
#define CKERNELS_SCAN_H

// Mamba's selective scan, one (batch, channel) row at a time, with B and C time-major (L × n):
//   h[k] = exp(dt[t]·a[k])·h[k] + dt[t]·b[t·n + k]·u[t],   y[t] = Σ_k c[t·n + k]·h[k]
// `h` is n floats of scratch (the state, zeroed here).
void ssm_selective_scan_row(const float *u, const float *dt, const float *a, const float *b, const float *c,
                            long L, long n, float *h, float *y);

// Its backward for one row, from the output gradient g (L): recomputes the states into hs and the
// decays into at ((L + 1) × n scratch each), then the reverse-time adjoint dh (n scratch). Writes
// du, ddt (L) and adds to da (n), db and dc (L × n, time-major).
void ssm_selective_scan_row_backward(const float *u, const float *dt, const float *a, const float *b, const float *c,
                                     const float *g, long L, long n, float *hs, float *at, float *dh,
                                     float *du, float *ddt, float *da, float *db, float *dc);

#endif
