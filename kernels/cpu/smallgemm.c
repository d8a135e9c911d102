/* smallgemm.c — fp32 products on AVX-512 register tiles: packed attention's blocks
 * (cpu_sgemm_small, here) and the linear layers (cpu_sgemm_tiles, below). C = alpha A B (+ C),
 * A read through strides (so A or its transpose), B row-major, with the causal mask's zero
 * blocks skipped. A register tile of up to 6 rows x 64 columns (24 accumulators, one load of
 * B's row slice per 6 broadcast FMAs) runs over all of K, so each output is one sum in k order:
 * the result depends neither on the thread count nor on where a block starts. Attention's
 * blocks (64 query rows, a head of 64-128, keys up to a sequence) are too small for OpenBLAS's
 * packing to pay; this replaces those calls where the CPU has AVX-512 (attention.c). */
#include <stdint.h>
#include <stdlib.h>
#include "cpu.h"

#ifdef CPU_HAVE_EXP512
#define MR 6    /* rows per register tile */
#define NC 64   /* columns per register tile (4 vectors) */
#define PF_BURST 8   /* a row tile's prefetch share up to this many lines: issued before its loop */

/* Cache lines to bring into L2 while a tile computes: lines l0 .. l1 of `rows` rows of len
 * bytes, stride bytes apart; line j of a row is at j * 64, its last at len - 1 (so lpr =
 * len / 64 + 1 covers a row however it is aligned). */
typedef struct { const char *p; size_t stride; int len, lpr, l0, l1; } pf_plan;

/* C[i][c] = alpha sum_{k0<=k<k1} a(i,k) B[k][c] (+ C[i][c] when acc), i < R, c < nc; and pf's
 * lines into L2 (pf may be NULL), spread over the k loop. */
__attribute__((target("avx512f"), always_inline))
static inline void tile(const int R, const int FULL, int k0, int k1, const float *A, size_t sar, size_t sak, const float *B, size_t ldb,
                        float *C, size_t ldc, int nc, float alpha, int acc, const pf_plan *pf) {
    __m512 c[MR][4];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) c[i][v] = _mm512_setzero_ps();
    __mmask16 m0 = cpu_lanes16(nc), m1 = cpu_lanes16(nc - 16), m2 = cpu_lanes16(nc - 32), m3 = cpu_lanes16(nc - 48);
    int n = pf ? pf->l1 - pf->l0 : 0, per = k1 > k0 ? (n + (k1 - k0) - 1) / (k1 - k0) : 0;   /* lines per k */
    const char *row = NULL;
    int o = 0, last = 0, rowb = 0;   /* the next line: row + o (o past the row's end: its last byte, last) */
    size_t stride = 0;
    if (n > 0) {
        row = pf->p + (size_t)(pf->l0 / pf->lpr) * pf->stride; o = pf->l0 % pf->lpr * 64;
        last = pf->len - 1; rowb = pf->lpr * 64; stride = pf->stride;
    }
    /* A's rows through two bases and one stride (rows 0-2 off a0, 3-5 off a3, each at +0, +sar,
       +2 sar): three general registers where GCC otherwise kept six row offsets, spilled them and
       moved them back through port 0, an FMA port. A short prefetch share is issued before the
       loop (a row tile of a tall A gets a few lines), and a long one's loop ends where the
       share does, so the loop that runs the rest carries no prefetch state. */
    const float *a0 = A + (size_t)k0 * sak, *a3 = a0 + 3 * sar, *b = B + (size_t)k0 * ldb;
#define TILE_STEP                                                                                            \
    do {                                                                                                     \
        __m512 b0, b1, b2, b3;                                                                               \
        if (FULL) {   /* all 64 columns: no masks to keep in registers */                                    \
            b0 = _mm512_loadu_ps(b); b1 = _mm512_loadu_ps(b + 16); b2 = _mm512_loadu_ps(b + 32); b3 = _mm512_loadu_ps(b + 48); \
        } else {                                                                                             \
            b0 = _mm512_maskz_loadu_ps(m0, b); b1 = _mm512_maskz_loadu_ps(m1, b + 16);                       \
            b2 = _mm512_maskz_loadu_ps(m2, b + 32); b3 = _mm512_maskz_loadu_ps(m3, b + 48);                  \
        }                                                                                                    \
        _Pragma("GCC unroll 8")                                                                              \
        for (int i = 0; i < R; i++) {                                                                        \
            __m512 ai = _mm512_set1_ps(i < 3 ? a0[(size_t)i * sar] : a3[(size_t)(i - 3) * sar]);             \
            c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);                                                      \
            c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);                                                      \
            c[i][2] = _mm512_fmadd_ps(ai, b2, c[i][2]);                                                      \
            c[i][3] = _mm512_fmadd_ps(ai, b3, c[i][3]);                                                      \
        }                                                                                                    \
        a0 += sak; a3 += sak; b += ldb;                                                                      \
    } while (0)
    int k = k0;
    if (n > 0 && n <= PF_BURST)   /* a short share: all before the loop */
        for (; n > 0; n--) {
            _mm_prefetch(row + (o < last ? o : last), _MM_HINT_T1);
            if ((o += 64) >= rowb) { o = 0; row += stride; }
        }
    for (; k < k1 && n > 0; k++) {   /* a long share: per lines a step */
        for (int j = 0; j < per && n > 0; j++, n--) {
            _mm_prefetch(row + (o < last ? o : last), _MM_HINT_T1);
            if ((o += 64) >= rowb) { o = 0; row += stride; }
        }
        TILE_STEP;
    }
    for (; k < k1; k++) TILE_STEP;   /* the rest: no prefetch state in registers */
#undef TILE_STEP
    __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        float *ci = C + (size_t)i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            __mmask16 m = cpu_lanes16(nc - 16 * v);
            if (!m) continue;
            __m512 r = _mm512_mul_ps(c[i][v], al);
            if (acc) r = _mm512_add_ps(_mm512_maskz_loadu_ps(m, ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, m, r);
        }
    }
}

#define TILE_R(R)                                                                                \
__attribute__((target("avx512f")))                                                               \
static void tile##R(int k0, int k1, const float *A, size_t sar, size_t sak, const float *B, size_t ldb, \
                    float *C, size_t ldc, int nc, float alpha, int acc, const pf_plan *pf) {     \
    if (nc == NC) tile(R, 1, k0, k1, A, sar, sak, B, ldb, C, ldc, nc, alpha, acc, pf);           \
    else tile(R, 0, k0, k1, A, sar, sak, B, ldb, C, ldc, nc, alpha, acc, pf);                    \
}
TILE_R(1) TILE_R(2) TILE_R(3) TILE_R(4) TILE_R(5) TILE_R(6)
typedef void tile_fn(int, int, const float *, size_t, size_t, const float *, size_t, float *, size_t, int, float, int,
                     const pf_plan *);
static tile_fn *const tiles[MR + 1] = {NULL, tile1, tile2, tile3, tile4, tile5, tile6};

/* Rows of the next register tile when `left` rows remain: 6, but 7 and 8 as 4 + 3 and 4 + 4
 * rather than 6 + 1 and 6 + 2 (a 1- or 2-row tile loads B's slice for 4 or 8 FMAs instead of
 * 24: 128 rows, a task of the linear op, spent 3 % of its time in its last 2). */
static inline int tile_rows(int left) { return left >= MR + 3 || left <= MR ? (left < MR ? left : MR) : 4; }
static inline int row_tiles(int M) { int n = 0; for (int r0 = 0; r0 < M; r0 += tile_rows(M - r0)) n++; return n; }

__attribute__((target("avx512f")))
void cpu_sgemm_small(int M, int N, int K, float alpha, const float *A, size_t sar, size_t sak, const float *B,
                     size_t ldb, int acc, float *C, size_t ldc, int causal, int diag, float *pk) {
    for (int c0 = 0; c0 < N; c0 += NC) {
        const float *Bc = B + c0;
        size_t lb = ldb;
        if (pk) {   /* B's 64 columns copied to rows of their own (zeros past N): read in place, rows a
                       multiple of 4 KB apart (K^T of 1024 keys, V in the qkv rows of the 1.5B model)
                       all fell in the same few L1 sets */
            cpu_tiles_pack_panel(pk, B, 0, 0, ldb, K, c0, N - c0 < NC ? N - c0 : NC);
            Bc = pk; lb = NC;
        }
        for (int r0 = 0, R; r0 < M; r0 += R) {
            R = tile_rows(M - r0);
            int k0 = 0, k1 = K, nc = N - c0 < NC ? N - c0 : NC;
            if (causal == CPU_CAUSAL_NEND) {          /* columns < diag + r0 + R only */
                int ne = diag + r0 + R;
                if (c0 >= ne) continue;
            } else if (causal == CPU_CAUSAL_KEND) {   /* k < diag + r0 + R */
                if (diag + r0 + R < k1) k1 = diag + r0 + R;
            } else if (causal == CPU_CAUSAL_KSTART) { /* k >= r0 - diag */
                if (r0 - diag > k0) k0 = r0 - diag;
            }
            if (k0 >= k1 && acc) continue;            /* an empty sum added */
            tiles[R](k0, k1, A + (size_t)r0 * sar, sar, sak, Bc, lb, C + (size_t)r0 * ldc + c0, ldc, nc, alpha, acc, NULL);
        }
    }
}

/* The dense products of the linear layers (matmul.c) on the same register tiles, where the
 * CPU has AVX-512: B is packed KC x 64 at a time (in L1 beside A's rows), widened from bf16
 * and transposed on the way where it is W of x W^T, and each 6 x 64 tile sums its K block in
 * k order onto the previous blocks' sum: every output is the same chain of fp32 FMAs whatever
 * M, the tiling of the rows or the thread count. This keeps fp32 off OpenBLAS's per-CPU kernel
 * choice: OpenBLAS 0.3.21 (Debian 12) falls back to a generic SSE kernel on Xeons newer than
 * it knows (26 GFLOP/s a core, against ~160 with its SkylakeX kernel; BENCHMARKS.md). */
#define KC 128

/* n < 16 bf16 (or 16 fp32) values at p as fp32 lanes, the rest 0 */
__attribute__((target("avx512f")))
static inline __m512 load16(const void *B, int bf, size_t off, int n) {
    if (!bf) return _mm512_maskz_loadu_ps(cpu_lanes16(n), (const float *)B + off);
    const uint16_t *p = (const uint16_t *)B + off;
    if (n >= 16) return cpu_bf16_widen(_mm256_loadu_si256((const __m256i *)p));
    uint16_t t[16] = {0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return cpu_bf16_widen(_mm256_loadu_si256((const __m256i *)t));
}

/* dst[k][c] = B(k0 + k, c0 + c) for k < kc, c < 64 (0 past nc); B(k, c) = B[k ldb + c], or
 * B[c ldb + k] when bt (W of x W^T: 16 x 16 blocks through registers, 16 of B's rows at a time
 * along k). ahead: prefetch as it goes, B's row k + 8 (bt: 64 elements on along each of the 16
 * rows): a whole panel packed at once (cpu_tiles_pack_panel) has no prefetch plan running
 * beside it, as the tiles' blocks have (pf_block). */
__attribute__((target("avx512f")))
static void pack_b(float *dst, const void *B, int bf, int bt, size_t ldb, int k0, int kc, int c0, int nc, int ahead) {
    size_t es = bf ? 2 : 4;
    if (!bt) {
        for (int k = 0; k < kc; k++) {
            if (ahead && k + 8 < kc)
                for (int v = 0; v < NC && v < nc; v += (int)(64 / es))
                    _mm_prefetch((const char *)B + ((size_t)(k0 + k + 8) * ldb + c0 + v) * es, _MM_HINT_T0);
            for (int v = 0; v < 4; v++)
                _mm512_storeu_ps(dst + (size_t)k * NC + 16 * v, load16(B, bf, (size_t)(k0 + k) * ldb + c0 + 16 * v, nc - 16 * v));
        }
        return;
    }
    for (int cb = 0; cb < NC; cb += 16)
        for (int kb = 0; kb < kc; kb += 16) {
            int nk = kc - kb < 16 ? kc - kb : 16;
            __m512i v[16];
            for (int i = 0; i < 16; i++) {
                if (ahead && cb + i < nc && kb + 64 < kc)
                    _mm_prefetch((const char *)B + ((size_t)(c0 + cb + i) * ldb + k0 + kb + 64) * es, _MM_HINT_T0);
                v[i] = cb + i < nc ? _mm512_castps_si512(load16(B, bf, (size_t)(c0 + cb + i) * ldb + k0 + kb, nk)) : _mm512_setzero_si512();
            }
            cpu_tr16(v);
            for (int j = 0; j < nk; j++) _mm512_storeu_ps(dst + (size_t)(kb + j) * NC + cb, _mm512_castsi512_ps(v[j]));
        }
}

/* The cache lines of B's block (k0.., c0..) as a prefetch plan (lines 0 .. l1 of it): the
 * block after the one the tiles run on goes into L2 meanwhile. Packing reads 64 (or 128) rows
 * at once, more streams than the hardware prefetchers follow, and a packed P is one stream the
 * tiles read too slowly for them: without this, weights streamed from memory ran at 2/3 of the
 * speed they run at from cache. The lines are spread over the tiles' k loops —
 * issued in one burst, the prefetches stalled the tiles until memory had answered them all
 * (then memory and arithmetic took turns: fp32 x W^T at 32 rows 183 GFLOP/s from memory, 308
 * from cache; spread, 258). */
static pf_plan pf_block(const void *B, int bf, int bt, size_t ldb, const float *P, int K, int k0, int kc, int c0, int nc) {
    if (P) {   /* contiguous: panel c0 / 64, rows k0 .. k0 + kc */
        int len = kc * NC * 4;
        return (pf_plan){(const char *)(P + (size_t)c0 * K + (size_t)k0 * NC), 0, len, len / 64 + 1, 0, len / 64 + 1};
    }
    size_t es = bf ? 2 : 4;
    int rows = bt ? nc : kc, len = (int)((bt ? kc : nc) * es);
    const char *p = (const char *)B + (bt ? (size_t)c0 * ldb + k0 : (size_t)k0 * ldb + c0) * es;
    return (pf_plan){p, ldb * es, len, len / 64 + 1, 0, rows * (len / 64 + 1)};
}

/* Column tiles taken K-block by K-block together, so that A's block is read once for all of
 * them: for long K (A's rows past L2) — 8960 -> 1536 at 256 rows +10 %; at K = 1536 the
 * other order (each column tile over all of K) is 10-20 % faster from 32 to 128 rows. */
#define CB_LONG_K 4096
#define KA_PACK 1024   /* K per chunk of packed A^T (a multiple of KC) */

/* One row against two packed panels at once (B2 = B + 64 K: the next panel; nc2 of its
 * columns, 0: none), each output the same chain as tile(1, ...) gives it: two weight streams
 * in flight instead of one, each prefetched a block (KC rows) ahead. Batch-1 decode: the op
 * 1 x 1536 -> 8960 at 15.3 GFLOP/s against 13.5 through tile(1, ...) and 14.7 for the old
 * few-row kernel on the unpacked W (same minutes, 2 threads). */
static inline void prefetch_row(const float *b) {   /* one packed row, NC floats: 4 lines */
    for (int v = 0; v < NC; v += 16) _mm_prefetch((const char *)(b + v), _MM_HINT_T1);
}
__attribute__((target("avx512f")))
static void row2p(int kc, const float *a, const float *B, const float *B2, float *C, int nc, int nc2, int acc) {
    __m512 c[8];
    for (int v = 0; v < 8; v++) c[v] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        const float *b = B + (size_t)k * NC, *b2 = B2 + (size_t)k * NC;
        prefetch_row(b + KC * NC);
        __m512 ai = _mm512_set1_ps(a[k]);
        c[0] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b), c[0]);
        c[1] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b + 16), c[1]);
        c[2] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b + 32), c[2]);
        c[3] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b + 48), c[3]);
        if (nc2) {
            prefetch_row(b2 + KC * NC);
            c[4] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b2), c[4]);
            c[5] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b2 + 16), c[5]);
            c[6] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b2 + 32), c[6]);
            c[7] = _mm512_fmadd_ps(ai, _mm512_loadu_ps(b2 + 48), c[7]);
        }
    }
    for (int v = 0; v < 8; v++) {
        __mmask16 m = cpu_lanes16(v < 4 ? nc - 16 * v : nc2 - 16 * (v - 4));
        if (!m) continue;
        float *ci = C + 16 * v;
        _mm512_mask_storeu_ps(ci, m, acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, ci), c[v]) : c[v]);
    }
}

/* A^T's rows (a(i,k) = A[k sak + i]: each k a row of g in dW = g^T x) packed for the row tiles
 * of M rows, k in [0, kc): tile j (rows r0 .. r0 + R) at dst + j MR kc as [k][MR]. Read in
 * place, a tile's 6 values of a k sit in a line of their own, kc lines a tile, sak floats apart
 * (2-6 KB: two L1 sets for all of them): the product ran at 150-200 GFLOP/s against 230-260
 * for x W^T. */
__attribute__((target("avx512f")))
static void pack_at(float *dst, const float *A, size_t sak, int M, int kc) {
    for (int k = 0; k < kc; k++) {
        const float *a = A + (size_t)k * sak;
        if (k + 8 < kc)   /* the rows are sak apart: the prefetchers do not follow them */
            for (int i = 0; i < M; i += 16) _mm_prefetch((const char *)(a + 8 * sak + i), _MM_HINT_T0);
        float *d = dst + (size_t)k * MR;
        for (int r0 = 0, R; r0 < M; r0 += R, d += (size_t)MR * kc) {
            R = tile_rows(M - r0);
            _mm512_mask_storeu_ps(d, cpu_lanes16(R), _mm512_maskz_loadu_ps(cpu_lanes16(R), a + r0));
        }
    }
}

/* P (B packed ahead, cpu_f32p_pack) or B (packed here, block by block): the same tiles over
 * the same K-blocks, so the two give the same bits. */
static inline void sgemm_tiles(int M, int N, int K, const float *A, size_t sar, size_t sak, const void *B, int bf, int bt,
                               size_t ldb, const float *P, float beta, float *C, size_t ldc, float *ap) {
    float pk[KC * NC] __attribute__((aligned(64)));   /* unused when P */
    if (beta != 0 && beta != 1)
        for (int i = 0; i < M; i++) for (int c = 0; c < N; c++) C[(size_t)i * ldc + c] *= beta;
    int cb = K >= CB_LONG_K ? 4 : 1;
    if (P && M == 1 && sak == 1) {   /* two panels at a time, K-block by K-block */
        for (int c0 = 0; c0 < N; c0 += 2 * NC) {
            int nc = N - c0 < NC ? N - c0 : NC, nc2 = N - c0 - NC < 0 ? 0 : N - c0 - NC < NC ? N - c0 - NC : NC;
            for (int k0 = 0; k0 < K || k0 == 0; k0 += KC) {
                int kc = K - k0 < KC ? K - k0 : KC;
                const float *b = P + (size_t)c0 * K + (size_t)k0 * NC;
                row2p(kc, A + (size_t)k0 * sak, b, b + (size_t)NC * K, C + c0, nc, nc2, k0 > 0 || beta != 0);
            }
        }
        return;
    }
    /* A^T (sar 1) packed KA of K at a time when the caller gave room for it (ap), the chunks
       on the same K-block boundaries: each output the same chain of K-blocks as unpacked */
    int pa = ap && sar == 1 && sak > 1, KA = pa ? KA_PACK : K > 0 ? K : 1, nrt = row_tiles(M);
    for (int ka = 0; ka < K || ka == 0; ka += KA) {
        int ke = K - ka < KA ? K : ka + KA;   /* k in ka .. ke */
        if (pa) pack_at(ap, A + (size_t)ka * sak, sak, M, ke - ka);
        for (int cc = 0; cc < N; cc += NC * cb) {
            int ce = N - cc < NC * cb ? N : cc + NC * cb;   /* columns cc .. ce */
            for (int k0 = ka; k0 < ke || k0 == 0; k0 += KC) {
                int kc = ke - k0 < KC ? ke - k0 : KC;
                for (int c0 = cc; c0 < ce; c0 += NC) {
                    int nc = ce - c0 < NC ? ce - c0 : NC;
                    const float *b = pk;
                    if (P) b = P + (size_t)c0 * K + (size_t)k0 * NC;   /* panel c0 / 64, row k0 */
                    else pack_b(pk, B, bf, bt, ldb, k0, kc, c0, nc, 0);
                    /* the block next into L2: the next columns of this K-block, else the next
                       K-block's first columns, else the next column group's first block, else
                       the next chunk's */
                    pf_plan pf = {0};
                    if (c0 + NC < ce) pf = pf_block(B, bf, bt, ldb, P, K, k0, kc, c0 + NC, ce - c0 - NC < NC ? ce - c0 - NC : NC);
                    else if (k0 + KC < ke) pf = pf_block(B, bf, bt, ldb, P, K, k0 + KC, ke - k0 - KC < KC ? ke - k0 - KC : KC, cc, ce - cc < NC ? ce - cc : NC);
                    else if (ce < N) pf = pf_block(B, bf, bt, ldb, P, K, ka, ke - ka < KC ? ke - ka : KC, ce, N - ce < NC ? N - ce : NC);
                    else if (ke < K) pf = pf_block(B, bf, bt, ldb, P, K, ke, K - ke < KC ? K - ke : KC, 0, N < NC ? N : NC);
                    int nl = pf.l1;   /* its lines, a share to each row tile */
                    for (int r0 = 0, j = 0, R; r0 < M; r0 += R, j++) {
                        R = tile_rows(M - r0);
                        pf.l0 = (int)((long)nl * j / nrt); pf.l1 = (int)((long)nl * (j + 1) / nrt);
                        const float *at = A + (size_t)r0 * sar + (size_t)k0 * sak;
                        size_t ar = sar, ak = sak;
                        if (pa) { at = ap + (size_t)j * MR * (ke - ka) + (size_t)(k0 - ka) * MR; ar = 1; ak = MR; }
                        tiles[R](0, kc, at, ar, ak, b, NC, C + (size_t)r0 * ldc + c0, ldc, nc, 1.0f, k0 > 0 || beta != 0, nl ? &pf : NULL);
                    }
                }
            }
        }
    }
}

/* Room for sgemm_tiles's packed A^T: M rows (row tiles of MR) x KA_PACK. */
size_t cpu_sgemm_tiles_apack(int M) { return (size_t)row_tiles(M) * MR * KA_PACK; }

void cpu_sgemm_tiles(int M, int N, int K, const float *A, size_t sar, size_t sak, const void *B, int bf, int bt,
                     size_t ldb, float beta, float *C, size_t ldc) {
    sgemm_tiles(M, N, K, A, sar, sak, B, bf, bt, ldb, NULL, beta, C, ldc, NULL);
}
void cpu_sgemm_tiles_at(int M, int N, int K, const float *A, size_t sak, const float *B, size_t ldb, float *C, size_t ldc, float *ap) {
    sgemm_tiles(M, N, K, A, 1, sak, B, 0, 0, ldb, NULL, 1.0f, C, ldc, ap);
}
void cpu_sgemm_tiles_p(int M, int N, int K, const float *A, size_t sar, size_t sak, const float *P, float beta,
                       float *C, size_t ldc, float *ap) {
    sgemm_tiles(M, N, K, A, sar, sak, NULL, 0, 0, 0, P, beta, C, ldc, ap);
}

/* B's columns c0 .. c0 + nc (nc <= 64) as one panel over all of K, the layout of an MRL_F32P
 * panel (pack_b's blocks end to end): 16 of B^T's rows at a time along all of K (16 streams
 * that the prefetchers follow, where blocks took 64 rows 128 deep at a time). */
void cpu_tiles_pack_panel(float *dst, const void *B, int bf, int bt, size_t ldb, int K, int c0, int nc) {
    pack_b(dst, B, bf, bt, ldb, 0, K, c0, nc, 1);
}

/* W [OUT, IN] as MRL_F32P: panel p holds W's rows 64p .. 64p+63 as columns, [IN][64] floats
 * (rows past OUT zero) — pack_b's blocks of x W^T laid end to end. */
void cpu_f32p_pack(const mrl_backend *be, float *dst, const float *w, int OUT, int IN) {
    int np = (OUT + NC - 1) / NC;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(be->threads)
    for (int p = 0; p < np; p++)
        cpu_tiles_pack_panel(dst + (size_t)p * NC * IN, w, 0, 1, (size_t)IN, IN, p * NC, OUT - p * NC < NC ? OUT - p * NC : NC);
}

/* dst[c][r] = src[r][c], r < rows, c < cols: 16 x 16 blocks through registers. */
__attribute__((target("avx512f")))
void cpu_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += 16)
        for (int c0 = 0; c0 < cols; c0 += 16) {
            int nr = rows - r0 < 16 ? rows - r0 : 16, nc = cols - c0 < 16 ? cols - c0 : 16;
            __mmask16 mc = cpu_lanes16(nc), mr = cpu_lanes16(nr);
            __m512i v[16];
            for (int i = 0; i < 16; i++)
                v[i] = i < nr ? _mm512_castps_si512(_mm512_maskz_loadu_ps(mc, src + (size_t)(r0 + i) * lds + c0)) : _mm512_setzero_si512();
            cpu_tr16(v);
            for (int j = 0; j < nc; j++) _mm512_mask_storeu_ps(dst + (size_t)(c0 + j) * ldd + r0, mr, _mm512_castsi512_ps(v[j]));
        }
}
#else
void cpu_sgemm_small(int M, int N, int K, float alpha, const float *A, size_t sar, size_t sak, const float *B,
                     size_t ldb, int acc, float *C, size_t ldc, int causal, int diag, float *pk) {
    (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)sar; (void)sak; (void)B; (void)ldb; (void)acc;
    (void)C; (void)ldc; (void)causal; (void)diag; (void)pk;
    abort();   /* never called: attention.c checks CPU_HAVE_EXP512 */
}
void cpu_sgemm_tiles(int M, int N, int K, const float *A, size_t sar, size_t sak, const void *B, int bf, int bt,
                     size_t ldb, float beta, float *C, size_t ldc) {
    (void)M; (void)N; (void)K; (void)A; (void)sar; (void)sak; (void)B; (void)bf; (void)bt; (void)ldb; (void)beta; (void)C; (void)ldc;
    abort();   /* never called: matmul.c checks CPU_HAVE_EXP512 */
}
void cpu_sgemm_tiles_p(int M, int N, int K, const float *A, size_t sar, size_t sak, const float *P, float beta,
                       float *C, size_t ldc, float *ap) {
    (void)M; (void)N; (void)K; (void)A; (void)sar; (void)sak; (void)P; (void)beta; (void)C; (void)ldc; (void)ap;
    abort();   /* never called: MRL_F32P needs AVX-512 */
}
void cpu_tiles_pack_panel(float *dst, const void *B, int bf, int bt, size_t ldb, int K, int c0, int nc) {
    (void)dst; (void)B; (void)bf; (void)bt; (void)ldb; (void)K; (void)c0; (void)nc;
    abort();
}
void cpu_f32p_pack(const mrl_backend *be, float *dst, const float *w, int OUT, int IN) {
    (void)be; (void)dst; (void)w; (void)OUT; (void)IN;
    abort();
}
void cpu_sgemm_tiles_at(int M, int N, int K, const float *A, size_t sak, const float *B, size_t ldb, float *C, size_t ldc, float *ap) {
    (void)M; (void)N; (void)K; (void)A; (void)sak; (void)B; (void)ldb; (void)C; (void)ldc; (void)ap;
    abort();   /* never called: matmul.c checks CPU_HAVE_EXP512 */
}
size_t cpu_sgemm_tiles_apack(int M) { (void)M; return 0; }
void cpu_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols) {
    for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
}
#endif
