#include "ckernels_team.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

// Spin loops only read memory: no pause instruction, since under a hypervisor a vCPU that executes
// pause in a loop is taken for a spinning lock waiter and descheduled (pause-loop exiting), which
// costs far more than the wait itself.
#define SSM_SPIN() __asm__ __volatile__("" ::: "memory")

enum { TEAM_MAX = 8, SPIN_LIMIT = 1 << 18 };   // ≈ 0.5–1 ms of spinning before a worker blocks

static struct {
    _Atomic int threads;            // setting (1 = off)
    _Atomic int busy;               // a caller holds the team
    _Atomic unsigned long seq;      // task generation; workers run each new one once
    _Atomic long done;              // workers finished with the current task
    _Atomic int sleepers;
    ssm_team_task fn;
    void *ctx;
    long parts;
    int started;                    // workers created (guarded by lock)
    pthread_mutex_t lock;
    pthread_cond_t wake;
} team = { .threads = 1, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static unsigned long team_first_seen[TEAM_MAX];

// Every started worker takes part in every task (those past `parts` just report done), so the
// caller can wait for all of them and no worker ever reads the fields of a later task.
static void *team_worker(void *arg) {
    const long id = (long)(intptr_t)arg;
    unsigned long seen = team_first_seen[id];
    for (;;) {
        unsigned long s;
        int spins = 0;
        while ((s = atomic_load_explicit(&team.seq, memory_order_acquire)) == seen) {
            if (++spins < SPIN_LIMIT) { SSM_SPIN(); continue; }
            pthread_mutex_lock(&team.lock);
            atomic_fetch_add(&team.sleepers, 1);
            while (atomic_load(&team.seq) == seen) pthread_cond_wait(&team.wake, &team.lock);
            atomic_fetch_sub(&team.sleepers, 1);
            pthread_mutex_unlock(&team.lock);
            spins = 0;
        }
        seen = s;
        const long parts = team.parts;
        if (id < parts) team.fn(team.ctx, id, parts);
        atomic_fetch_add_explicit(&team.done, 1, memory_order_release);
    }
    return 0;
}

void ssm_team_set_threads(int threads) {
    if (threads < 1) threads = 1;
    if (threads > TEAM_MAX) threads = TEAM_MAX;
    int expected = 0;
    while (!atomic_compare_exchange_weak(&team.busy, &expected, 1)) { expected = 0; SSM_SPIN(); }   // no task running
    pthread_mutex_lock(&team.lock);
    while (team.started < threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        team_first_seen[team.started + 1] = atomic_load(&team.seq);
        if (pthread_create(&t, &attr, team_worker, (void *)(intptr_t)(team.started + 1)) != 0) {
            pthread_attr_destroy(&attr);
            break;                                   // fewer threads than asked: still correct
        }
        pthread_attr_destroy(&attr);
        team.started++;
    }
    if (threads > team.started + 1) threads = team.started + 1;
    atomic_store(&team.threads, threads);
    pthread_mutex_unlock(&team.lock);
    atomic_store(&team.busy, 0);
}

int ssm_team_threads(void) { return atomic_load(&team.threads); }

void ssm_team_run(ssm_team_task fn, void *ctx, long parts) {
    const int threads = atomic_load_explicit(&team.threads, memory_order_relaxed);
    int expected = 0;
    if (parts > threads) parts = threads;
    if (parts <= 1 || !atomic_compare_exchange_strong(&team.busy, &expected, 1)) {
        for (long p = 0; p < (parts < 1 ? 1 : parts); p++) fn(ctx, p, parts < 1 ? 1 : parts);
        return;
    }
    const long workers = team.started;
    team.fn = fn;
    team.ctx = ctx;
    team.parts = parts;
    atomic_store_explicit(&team.done, 0, memory_order_relaxed);
    atomic_fetch_add(&team.seq, 1);                  // publishes fn, ctx, parts (sequentially consistent)
    if (atomic_load(&team.sleepers) > 0) {
        pthread_mutex_lock(&team.lock);
        pthread_cond_broadcast(&team.wake);
        pthread_mutex_unlock(&team.lock);
    }
    fn(ctx, 0, parts);
    while (atomic_load_explicit(&team.done, memory_order_acquire) < workers) SSM_SPIN();
    atomic_store_explicit(&team.busy, 0, memory_order_release);
}
