#ifndef CNUMERICS_SHIM_H
#define CNUMERICS_SHIM_H
#include <fftw3.h>
#include <cblas.h>
/* OpenBLAS threading control (declared in openblas_config/cblas.h on Debian). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* LAPACK (Fortran symbols exported by OpenBLAS; the trailing size_t arguments are gfortran's
   hidden lengths of the character arguments). Complex matrices are column-major interleaved doubles. */
#include <stddef.h>
void zheev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, double *rwork, int *info, size_t jobz_len, size_t uplo_len);
void zgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *w,
            double *vl, const int *ldvl, double *vr, const int *ldvr, double *work, const int *lwork,
            double *rwork, int *info, size_t jobvl_len, size_t jobvr_len);
void zgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b, const int *ldb, int *info);
/* glibc allocator tuning (mallopt), used by SSMCore's Allocator. */
#if defined(__linux__)
#include <malloc.h>
#endif
#endif
