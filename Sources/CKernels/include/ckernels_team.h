#ifndef SSM_CKERNELS_TEAM_H
#define SSM_CKERNELS_TEAM_H

// A fork–join team for the step kernels. One recurrent step of a deep model calls dozens of small
// kernels within ~100 µs, far too often for a thread pool that sleeps between tasks, so the team's
// threads spin (reading memory) for a short while after each task and only then block. The team is off
// (every kernel serial) until `ssm_team_set_threads(n > 1)`; turn it on only around a loop that
// owns the cores, e.g. one generation run, and back to 1 after it.
//
// Splitting never changes the arithmetic: a kernel's parts are disjoint ranges of its outputs, each
// computed exactly as the serial kernel computes it, so results are bit-identical for any thread count.

// Sets the number of threads the step kernels may use (1 … 8; 1 = serial). Threads are created on
// first use and kept; extra ones stay asleep.
void ssm_team_set_threads(int threads);

// The current setting.
int ssm_team_threads(void);

// Runs fn(ctx, part, parts) for every part in [0, parts), parts ≤ the team's threads, part 0 on the
// calling thread. Serial (all parts on the caller, in order) when the team is off, when `parts` is 1,
// or when another call holds the team (nested or concurrent callers never wait for each other).
typedef void (*ssm_team_task)(void *ctx, long part, long parts);
void ssm_team_run(ssm_team_task fn, void *ctx, long parts);

#endif
