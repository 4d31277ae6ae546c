#ifndef CNUMERICS_SHIM_H
#define CNUMERICS_SHIM_H
#include <fftw3.h>
#include <cblas.h>
/* OpenBLAS threading control (declared in openblas_config/cblas.h on Debian). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* glibc allocator tuning (mallopt), used by SSMCore's Allocator. */
#if defined(__linux__)
#include <malloc.h>
#endif
#endif
