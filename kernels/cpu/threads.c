/* threads.c — how many of its threads the CPU backend runs: all it was given (--threads),
 * unless other processes keep some of the CPUs busy.
 *
 * Every op is an OpenMP fork-join whose barrier waits for the slowest thread. When another
 * process holds a core, one of our threads sits in the run queue at almost every op while the
 * others spin at the barrier: on 2 cores with one `yes` running, mgrpo and msample on 2 threads
 * ran at 0.10-0.31 of their idle speed, on 1 thread at 0.5-0.57 (BENCHMARKS.md, #4 M). So
 * 0.1 s after load and then at most every half second (checked by be_tick, which the model
 * calls at each forward, backward, prefill and decode) the backend measures what other processes used of the CPUs it may run on:
 * their busy time in /proc/stat, less this process's own CPU time. The cores left over
 * (rounded to the nearest, at least 1, at most --threads and what a cgroup CPU quota allows)
 * are the threads of the next window; a rise needs two
 * windows in a row that ask for it. Every op sums in an order fixed by its shapes, never by its
 * thread count, so the count changes speed only: outputs stay bit for bit the same.
 * MRL_THREADS_ADAPT=0 (off, no, false) keeps every thread; =log adapts and prints each window's figures to
 * stderr; =jitter draws a new count at every tick (tests). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <omp.h>
#include "cpu.h"

#define WINDOW 0.5   /* seconds between two looks; the first look comes after FIRST (a 2-thread
                        op stalled by a busy core costs ~10x: catch it early; 10 clock ticks of
                        /proc/stat per CPU still tell a busy core from an idle one) */
#define FIRST 0.1

static double clock_s(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t)) return 0;
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

long long cpu_busy_ticks(const char *path, const void *cpus) {
    const cpu_set_t *set = cpus;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    long long sum = 0;
    int seen = 0;
    while (fgets(line, sizeof line, f) && !strncmp(line, "cpu", 3)) {
        int n;
        unsigned long long v[8] = {0};
        /* "cpuN ...": the "cpu  ..." total line is not one (%d would skip its blanks and read
           its user ticks as a CPU number) */
        if (line[3] < '0' || line[3] > '9') continue;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &n, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]) < 5) continue;
        if (n < 0 || n >= CPU_SETSIZE || !CPU_ISSET(n, set)) continue;
        sum += (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);   /* user nice system irq softirq steal */
        seen++;
    }
    fclose(f);
    return seen ? sum : -1;
}

/* A cgroup's CPU limit in CPUs from its directory: v2 cpu.max ("max 100000" or "QUOTA
 * PERIOD"), v1 cpu.cfs_quota_us / cpu.cfs_period_us (-1: none); 0 where it sets none. */
static double quota_in(const char *dir) {
    char p[4300];   /* dir (at most 4200) and a file name */
    long long q = -1, per = 0;
    snprintf(p, sizeof p, "%s/cpu.max", dir);
    FILE *f = fopen(p, "r");
    if (f) {
        char a[32] = "";
        if (fscanf(f, "%31s %lld", a, &per) != 2 || !strcmp(a, "max")) per = 0;
        else q = atoll(a);
        fclose(f);
    } else {
        snprintf(p, sizeof p, "%s/cpu.cfs_quota_us", dir);
        if ((f = fopen(p, "r"))) { if (fscanf(f, "%lld", &q) != 1) q = -1; fclose(f); }
        snprintf(p, sizeof p, "%s/cpu.cfs_period_us", dir);
        if (q > 0 && (f = fopen(p, "r"))) { if (fscanf(f, "%lld", &per) != 1) per = 0; fclose(f); }
    }
    return q > 0 && per > 0 ? (double)q / (double)per : 0;
}

int cpu_cgroup_cpus(const char *root, const char *self) {
    FILE *f = fopen(self, "r");
    if (!f) return 0;
    char line[4096];
    double lim = 0;
    while (fgets(line, sizeof line, f)) {   /* "ID:CONTROLLERS:PATH": v2 is "0::PATH", v1's has "cpu" */
        line[strcspn(line, "\n")] = 0;
        char *c = strchr(line, ':'), *path = c ? strchr(c + 1, ':') : NULL;
        if (!path) continue;
        *path++ = 0; c++;
        char ctl[256], *save = NULL;
        snprintf(ctl, sizeof ctl, "%s", c);
        int v1cpu = 0;
        for (char *t = strtok_r(ctl, ",", &save); t; t = strtok_r(NULL, ",", &save)) v1cpu |= !strcmp(t, "cpu");
        if (*c && !v1cpu) continue;
        const char *mounts[3] = {NULL, NULL, NULL};   /* where this hierarchy is mounted, as usual */
        char m1[512], m2[512];
        if (!*c) { snprintf(m1, sizeof m1, "%s", root); snprintf(m2, sizeof m2, "%s/unified", root); }
        else { snprintf(m1, sizeof m1, "%s/%s", root, c); snprintf(m2, sizeof m2, "%s/cpu", root); }
        mounts[0] = m1; mounts[1] = m2;
        for (int k = 0; mounts[k]; k++) {
            char dir[4200];
            snprintf(dir, sizeof dir, "%s%s", mounts[k], path);   /* the cgroup, then each ancestor */
            for (;;) {
                double q = quota_in(dir);
                if (q > 0 && (lim == 0 || q < lim)) lim = q;
                char *slash = strrchr(dir, '/');
                if (!slash || (size_t)(slash - dir) < strlen(mounts[k])) break;
                *slash = 0;
            }
        }
    }
    fclose(f);
    return lim > 0 ? (int)ceil(lim - 1e-9) : 0;
}

int cpu_threads_next(int cur, int max, int ncpu, double others, int *up) {
    int want = (int)floor((double)ncpu - others + 0.5);   /* a core half used by others is still ours */
    if (want > max) want = max;
    if (want < 1) want = 1;
    if (want <= cur) { *up = 0; return want; }
    if (++*up < 2) return cur;
    *up = 0;
    return want;
}

/* The log lines' note where a cgroup's CPU quota, not --threads or the CPUs, sets the cap. */
static const char *quota_note(const cpu_gov *g, int max) {
    return g->cap < max && g->cap < g->ncpu ? " (a cgroup CPU quota allows fewer)" : "";
}

void cpu_threads_init(mrl_backend *be) {
    cpu_state *s = cpu_st(be);
    int max = be->threads_max;
    memset(&s->gov, 0, sizeof s->gov);
    const char *m = getenv("MRL_THREADS_ADAPT");
    int off = m && (!strcmp(m, "0") || !strcmp(m, "off") || !strcmp(m, "no") || !strcmp(m, "false"));
    s->gov.mode = off ? 0 : m && !strcmp(m, "jitter") ? 2 : 1;
    s->gov.log = m && !strcmp(m, "log");
    s->gov.rng = 0x9e3779b97f4a7c15ull;
    if (s->gov.mode != 1 || max < 2) return;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set)) { s->gov.mode = 0; return; }
    /* OMP_PROC_BIND / OMP_PLACES: libgomp binds this (the initial) thread to the first place
       when it starts, so its mask is one place; the team runs on all of them */
    for (int p = 0, np = omp_get_num_places(); p < np; p++) {
        int ids[CPU_SETSIZE], k = omp_get_place_num_procs(p);
        if (k <= 0 || k > CPU_SETSIZE) continue;
        omp_get_place_proc_ids(p, ids);
        for (int i = 0; i < k; i++) if (ids[i] >= 0 && ids[i] < CPU_SETSIZE) CPU_SET(ids[i], &set);
    }
    if ((s->gov.ncpu = CPU_COUNT(&set)) < 1) { s->gov.mode = 0; return; }
    /* a CPU quota (a container's --cpus, a systemd CPUQuota): never more threads than it allows;
       throttling stops every thread at once, so it needs no window to see */
    s->gov.cap = max;
    int q = cpu_cgroup_cpus("/sys/fs/cgroup", "/proc/self/cgroup");
    if (q > 0 && q < s->gov.cap) s->gov.cap = q;
    if (s->gov.ncpu < s->gov.cap) s->gov.cap = s->gov.ncpu;
    be->threads = s->gov.cap;
    s->gov.set = malloc(sizeof set);
    if (!s->gov.set) { s->gov.mode = 0; return; }
    memcpy(s->gov.set, &set, sizeof set);
    s->gov.hz = sysconf(_SC_CLK_TCK);
    if (s->gov.hz <= 0 || (s->gov.busy0 = cpu_busy_ticks("/proc/stat", &set)) < 0) { s->gov.mode = 0; return; }
    s->gov.t0 = clock_s(CLOCK_MONOTONIC);
    s->gov.own0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (s->gov.log)   /* where it starts: a run shorter than the first window has no other line */
        fprintf(stderr, "mrl: threads %d at the start: --threads %d of %d CPUs%s\n", be->threads, max, s->gov.ncpu,
                quota_note(&s->gov, max));
}

void cpu_threads_free(cpu_state *s) { free(s->gov.set); s->gov.set = NULL; }

void cpu_tick(mrl_backend *be) {
    cpu_state *s = cpu_st(be);
    cpu_gov *g = &s->gov;
    if (g->mode == 2) {   /* tests: a new count in 1..max at every tick */
        g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
        be->threads = 1 + (int)((g->rng >> 33) % (unsigned long long)be->threads_max);
        return;
    }
    if (g->mode != 1 || be->threads_max < 2) return;
    double now = clock_s(CLOCK_MONOTONIC);
    if (now - g->t0 < (g->looked ? WINDOW : FIRST)) return;
    g->looked = 1;
    long long busy = cpu_busy_ticks("/proc/stat", g->set);
    double own = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (busy < 0) { g->mode = 0; be->threads = g->cap; return; }   /* /proc/stat gone: the cap stays */
    double others = ((double)(busy - g->busy0) / (double)g->hz - (own - g->own0)) / (now - g->t0);
    if (others < 0) others = 0;   /* tick rounding, or a CPU taken offline */
    int was = be->threads;
    be->threads = cpu_threads_next(was, g->cap, g->ncpu, others, &g->up);
    if (g->log)
        fprintf(stderr, "mrl: threads %d -> %d of %d: other processes kept %.2f of %d CPUs busy over %.2f s%s\n",
                was, be->threads, be->threads_max, others, g->ncpu, now - g->t0, quota_note(g, be->threads_max));
    g->t0 = now; g->busy0 = busy; g->own0 = own;
}
