#ifndef SSM_MATH_H
#define SSM_MATH_H

// The kernels' build: an x86-64-v3 (AVX2, FMA) clone plus a baseline one, picked at load time;
// elsewhere a single build.
#if defined(__x86_64__) && defined(__linux__)
#define SSM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSM_CLONES
#endif

// Branch-free Float approximations of exp, the normal CDF and the sigmoid that compilers vectorise
// (libm's expf/erff are opaque calls, one element at a time). Shared by the C kernels and, through
// SSMCore's FastMath.swift, by the Swift ops; accuracy is checked against Double libm in FastMathTests.

// e^x, relative error < 3e-7: x = k·ln2 + r (Cody–Waite), degree-7 Taylor for e^r, 2^k in the exponent.
static inline float ssm_fast_exp(float x) {
    float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    float k = (xc * 1.442695041f + 12582912.0f) - 12582912.0f;
    float r = (xc - k * 0.693359375f) + k * 2.12194440e-4f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    union { unsigned int u; float f; } s;
    s.u = (unsigned int)((int)k + 127) << 23;
    return p * s.f;
}

// Φ(x) through erfc of |x|/√2 (Abramowitz & Stegun 7.1.26), and φ(x), sharing one exponential.
static inline float ssm_normal_cdf(float x, float *pdf) {
    float z = (x < 0 ? -x : x) * 0.70710678118654752f;
    float e = ssm_fast_exp(-z * z);
    float t = 1 / (1 + 0.3275911f * z);
    float q = 1.061405429f;
    q = q * t - 1.453152027f;
    q = q * t + 1.421413741f;
    q = q * t - 0.284496736f;
    q = q * t + 0.254829592f;
    float half_erfc = 0.5f * q * t * e;
    *pdf = e * 0.39894228040143268f;
    return x < 0 ? half_erfc : 1 - half_erfc;
}

// Logistic sigmoid 1/(1 + e^-x).
static inline float ssm_sigmoid(float x) { return 1 / (1 + ssm_fast_exp(-x)); }

// Σ a[i]·b[i] in eight interleaved partial sums (vectorised; the order differs from a serial sum).
// Shared by the C kernels.
static inline float ssm_dot_product(const float *restrict a, const float *restrict b, long n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    float s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

#endif
