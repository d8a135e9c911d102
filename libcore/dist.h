/* dist.h — data parallel across processes, one per GPU: rank and world size from the
 * launcher's environment, the NCCL unique id exchanged through a file, gradient all-reduce.
 * NCCL is loaded at run time (dlopen), so builds and single-process runs never need it. */
#ifndef MRL_DIST_H
#define MRL_DIST_H
#include <stddef.h>
#include "err.h"
#include "ops.h"

typedef struct mrl_dist mrl_dist;

/* Rank, world size and local rank (GPU index on the node) from, in order: MRL_RANK/MRL_WORLD/
 * MRL_LOCAL_RANK (mgrpo --gpus), OMPI_COMM_WORLD_RANK/_SIZE/_LOCAL_RANK (Open MPI mpirun),
 * PMI_RANK/PMI_SIZE + MPI_LOCALRANKID (MPICH, Intel MPI), SLURM_PROCID/SLURM_NTASKS/
 * SLURM_LOCALID (srun). World 1 when none is set. Returns -1 with e set on inconsistent values. */
int dist_env(int *rank, int *world, int *local_rank, mrl_err *e);
/* A job key for the id file name, the same in every process of one launch
 * (MRL_JOB, SLURM_JOB_ID.SLURM_STEP_ID[.rSLURM_RESTART_COUNT], OMPI_MCA_orte_ess_jobid or
 * PMIX_NAMESPACE); NULL if none. */
const char *dist_job_key(void);

/* Loads libnccl.so.2 and lets it go: 0, or -1 with e saying why it cannot be loaded or lacks
 * the NCCL 2 API (what each rank's dist_init would say; test_dist checks the message, and a
 * launcher could say it once before starting the ranks: mgrpo does not yet). */
int dist_nccl_check(mrl_err *e);
/* Joins the group: world 1 needs nothing; otherwise rank 0 writes a fresh NCCL unique id to
 * id_path atomically and every rank reads it (waiting up to timeout_s), then NCCL is
 * initialised on be's device. The backend must be CUDA. */
mrl_dist *dist_init(const mrl_backend *be, const char *id_path, double timeout_s, mrl_err *e);
/* A rank's side of that exchange: waits up to timeout_s for path to hold len bytes (rank 0
 * renames it into place whole); fails at once where path cannot be read for another reason than
 * not being there yet (permissions). 0, or -1 with e set. */
int dist_read_id(const char *path, void *id, size_t len, int rank, double timeout_s, mrl_err *e);
int  dist_rank(const mrl_dist *d);
int  dist_world(const mrl_dist *d);
/* In-place sum over ranks of n fp32 values in backend memory (gradients). */
int  dist_allreduce_sum(mrl_dist *d, float *buf, size_t n, mrl_err *e);
/* Sum over ranks of a few host doubles (metrics, token counts). */
int  dist_allreduce_host(mrl_dist *d, double *vals, int n, mrl_err *e);
void dist_free(mrl_dist *d);

/* Sums every parameter's gradient over the ranks and divides by the world size. */
struct mrl_model;
int dist_allreduce_grads(mrl_dist *d, struct mrl_model *m, mrl_err *e);

/* One process per GPU of this node (mgrpo --gpus N): runs argv[0..argc) again N times, as
 * /proc/self/exe, with MRL_RANK/MRL_WORLD/MRL_LOCAL_RANK/MRL_JOB set and "--device cuda:RANK"
 * added after the options. argv[first_operand..argc) are the FILE operands (getopt's optind, the
 * options before them): where there are none or one is "-", standard input (which the ranks
 * cannot share) is first copied to a temporary file each rank reads in its place. Rank 0 keeps stdout, the others write theirs to
 * /dev/null. When one rank fails the others are stopped (a collective would wait forever): SIGTERM,
 * again after dist_spawn_grace_s, SIGKILL after as long again. SIGINT, SIGTERM and SIGHUP sent to
 * the launcher are forwarded to every rank, which stops as one process would; it waits for them
 * all. Returns the exit status to use: the first failure's (a stop's 128 + signal), else 0 (e set
 * when none could start); 128 + signal, nothing started, where a signal came while standard input
 * was copied. */
int dist_spawn(int argc, char **argv, int first_operand, int n, mrl_err *e);
/* Seconds dist_spawn gives the ranks it stops after a failure before it asks again (a second
 * signal is cli's hard stop), and as long again before SIGKILL: a rank waiting in a collective
 * for the failed one never reaches its stop. */
extern double dist_spawn_grace_s;
#endif
