/* nn-tile-body.h — the kernels of nn-tile.c, written once for every ISA.
 *
 * nn-tile.c includes this file once per instruction set, inside a
 * "#pragma GCC target" region, with TILE_ISA naming it (avx512, avx2,
 * generic), TILE_VW the floats in one of its vectors and tvec the vector
 * type. A 16-float unit of columns is NN_TILE_UNIT / TILE_VW vectors.
 * Every kernel is an always-inline body instantiated for fixed block
 * sizes, so that the compiler unrolls the rows and vectors and keeps the
 * accumulators in registers; the tables at the end list the instances for
 * the dispatcher. Not a header to include anywhere else.
 */

#define TILE_CAT2(a, b) a##_##b
#define TILE_CAT(a, b) TILE_CAT2 (a, b)
#define TILE_FN(name) TILE_CAT (name, TILE_ISA)

#define VPU (NN_TILE_UNIT / TILE_VW)   /* vectors per unit */

/* The first @n floats at @p as a vector, zeros after them; never reads
 * past them. */
static inline __attribute__ ((always_inline)) tvec
TILE_FN (load_part) (const float *p, guint n)
{
#if TILE_VW == 16
  return (tvec) _mm512_maskz_loadu_ps ((__mmask16) ((1u << n) - 1), p);
#elif TILE_VW == 8
  const v8i lanes = { 0, 1, 2, 3, 4, 5, 6, 7 };

  return (tvec) _mm256_maskload_ps (p, (__m256i) (lanes < (gint32) n));
#else
  tvec v = { 0 };

  for (guint l = 0; l < n; l++)
    v[l] = p[l];
  return v;
#endif
}

static inline __attribute__ ((always_inline)) void
TILE_FN (store_part) (float *p, const tvec *v, guint n)
{
#if TILE_VW == 16
  _mm512_mask_storeu_ps (p, (__mmask16) ((1u << n) - 1), (__m512) *v);
#elif TILE_VW == 8
  const v8i lanes = { 0, 1, 2, 3, 4, 5, 6, 7 };

  _mm256_maskstore_ps (p, (__m256i) (lanes < (gint32) n), (__m256) *v);
#else
  for (guint l = 0; l < n; l++)
    p[l] = (*v)[l];
#endif
}

/* The same for 32-bit integers (pooling winners). */
static inline __attribute__ ((always_inline)) tveci
TILE_FN (load_part_i) (const gint32 *p, guint n)
{
#if TILE_VW == 16
  return (tveci) _mm512_maskz_loadu_epi32 ((__mmask16) ((1u << n) - 1), p);
#elif TILE_VW == 8
  const v8i lanes = { 0, 1, 2, 3, 4, 5, 6, 7 };

  return (tveci) _mm256_maskload_epi32 ((const int *) p, (__m256i) (lanes < (gint32) n));
#else
  tveci v = { 0 };

  for (guint l = 0; l < n; l++)
    v[l] = p[l];
  return v;
#endif
}

static inline __attribute__ ((always_inline)) void
TILE_FN (store_part_i) (gint32 *p, const tveci *v, guint n)
{
#if TILE_VW == 16
  _mm512_mask_storeu_epi32 (p, (__mmask16) ((1u << n) - 1), (__m512i) *v);
#elif TILE_VW == 8
  const v8i lanes = { 0, 1, 2, 3, 4, 5, 6, 7 };

  _mm256_maskstore_epi32 ((int *) p, (__m256i) (lanes < (gint32) n), (__m256i) *v);
#else
  for (guint l = 0; l < n; l++)
    p[l] = (*v)[l];
#endif
}

/* The columns of vector @vec of a row that are written: the row has @cols. */
static inline __attribute__ ((always_inline)) guint
TILE_FN (vector_cols) (guint cols, int vec)
{
  guint first = (guint) vec * TILE_VW;

  return cols <= first ? 0 : MIN (cols - first, TILE_VW);
}

static inline __attribute__ ((always_inline)) tvec
TILE_FN (load_c) (const float *p, guint n)
{
  if (n == TILE_VW)
    return (tvec) *(const tvecu *) p;
  if (n == 0)
    return (tvec) { 0 };
  return TILE_FN (load_part) (p, n);
}

static inline __attribute__ ((always_inline)) void
TILE_FN (store_c) (float *p, const tvec *v, guint n)
{
  if (n == TILE_VW)
    *(tvecu *) p = *v;
  else if (n != 0)
    TILE_FN (store_part) (p, v, n);
}

/* max (0, x), NaN giving 0: maxps returns its second operand when either
 * is a NaN or both are zeros, so NaN and -0 give +0 as the ReLU layer's
 * comparison does, in one instruction instead of two (the first layer's
 * forward pass measured 8% faster). */
static inline __attribute__ ((always_inline)) tvec
TILE_FN (relu) (tvec x)
{
#if TILE_VW == 16
  return (tvec) _mm512_max_ps ((__m512) x, _mm512_setzero_ps ());
#elif TILE_VW == 8
  return (tvec) _mm256_max_ps ((__m256) x, _mm256_setzero_ps ());
#else
  return (tvec) ((tveci) (x > (tvec) { 0 }) & (tveci) x);
#endif
}

/* ---- Broadcast kernels -------------------------------------------------- */

static inline __attribute__ ((always_inline)) void
TILE_FN (tile_body) (const NnTile *restrict t, guint blocks, guint strip, const int MR,
                     const int NU, const int PLAIN)
{
  /* Copied out, so that the compiler sees nothing can change them while
   * the accumulators are being summed. */
  const float *const row_bias = t->row_bias != NULL ? t->row_bias + strip * MR : NULL;
  const gssize a_rs = t->a_rs, a_ts = t->a_ts, a_ss = t->a_ss, a_gs = t->a_gs;
  gssize a_row[TILE_MAX_ROWS];
  const gssize b_ts = t->b_ts, b_ss = t->b_ss, b_gs = t->b_gs, c_rs = t->c_rs;
  const guint steps = t->steps;
  const guint segments = PLAIN ? 1 : t->segments, groups = PLAIN ? 1 : t->groups;
  const NnTileMode mode = t->mode;
  const int NV = NU * VPU;

  /* Where each row of A starts, from the start of the tile. */
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
    {
      guint r = t->first_row + strip * MR + (guint) i;

      a_row[i] = t->line_rows == 0 ? (gssize) r * a_rs
                 : (gssize) (r % t->line_rows) * a_rs + (gssize) (r / t->line_rows) * t->a_ls;
    }

  /* @blocks blocks of NU units side by side in one call: for a sum of a
   * few steps (a first convolution's 25), a call per block measured 8%
   * slower. */
  for (guint blk = 0; blk < blocks; blk++)
    {
      const gsize first_col = (gsize) blk * NV * TILE_VW;
      const float *const b0 = t->b + first_col;
      float *const c0 = t->c + (gssize) strip * MR * t->c_rs + first_col;
      const float *const col_bias = !PLAIN && t->col_bias != NULL ? t->col_bias + first_col : NULL;
      const guint cols = PLAIN ? (guint) NV * TILE_VW
                         : MIN (t->cols - (guint) first_col, (guint) NV * TILE_VW);
      /* Sized for the largest block, not MR x NV: a variable-length array
       * would live in memory rather than in registers. */
      tvec acc[TILE_MAX_ROWS][TILE_MAX_UNITS * VPU];

#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++)
          acc[i][v] = mode == NN_TILE_ACCUMULATE
                      ? TILE_FN (load_c) (c0 + i * c_rs + v * TILE_VW,
                                          TILE_FN (vector_cols) (cols, v))
                      : (tvec) { 0 };

      for (guint g = 0; g < groups; g++)
        for (guint s = 0; s < segments; s++)
          {
            const float *restrict a = t->a + g * a_gs + s * a_ss;
            const float *restrict b = b0 + g * b_gs + s * b_ss;

            /* AVX2 takes four steps per turn of the loop: a pointer
             * increment and a test per step took dispatch slots the FMAs
             * need, all the more when the core's other hardware thread is
             * busy (Zen 3: convolutions 7 to 18% faster; 2 or 8 steps
             * measured slower than 4). Not measured on AVX-512 yet. */
#if TILE_VW == 8
#pragma GCC unroll 4
#endif
            for (guint k = 0; k < steps; k++)
              {
                tvec bv[TILE_MAX_UNITS * VPU];

#pragma GCC unroll 16
                for (int v = 0; v < NV; v++)
                  bv[v] = *(const tvecu *) (b + k * b_ts + v * TILE_VW);
#pragma GCC unroll 16
                for (int i = 0; i < MR; i++)
                  {
                    float ai = a[a_row[i] + k * a_ts];

#pragma GCC unroll 16
                    for (int v = 0; v < NV; v++)
                      acc[i][v] += ai * bv[v];
                  }
              }
          }

      /* The common ending, whole vectors with at most a row bias and a
       * ReLU, without a test per vector. */
      if (PLAIN || (cols == (guint) NV * TILE_VW && mode != NN_TILE_SCALE && col_bias == NULL))
        {
          const gboolean relu = t->relu;

#pragma GCC unroll 16
          for (int i = 0; i < MR; i++)
            {
              const float bias = row_bias != NULL ? row_bias[i] : 0.0f;

#pragma GCC unroll 16
              for (int v = 0; v < NV; v++)
                {
                  tvec x = acc[i][v];

                  if (row_bias != NULL)
                    x += bias;
                  if (relu)
                    x = TILE_FN (relu) (x);
                  *(tvecu *) (c0 + i * c_rs + v * TILE_VW) = x;
                }
            }
          continue;
        }

#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++)
          {
            guint n = TILE_FN (vector_cols) (cols, v);
            float *c = c0 + i * c_rs + v * TILE_VW;
            tvec x = acc[i][v];

            if (mode == NN_TILE_SCALE)
              x = t->beta == 0.0f ? t->alpha * x : t->alpha * x + t->beta * TILE_FN (load_c) (c, n);
            if (col_bias != NULL)
              x += TILE_FN (load_c) (col_bias + v * TILE_VW, n);
            if (row_bias != NULL)
              x += row_bias[i];
            if (t->relu)
              x = TILE_FN (relu) (x);
            TILE_FN (store_c) (c, &x, n);
          }
    }
}

/* A tile of one run of steps into whole blocks, with at most a row bias
 * and a ReLU: the short sums of a first convolution, whose blocks
 * measured faster through a copy of the kernel without the tests the
 * general case needs between blocks. */
static inline gboolean
TILE_FN (plain) (const NnTile *t, guint blocks, int NU)
{
  return t->groups == 1 && t->segments == 1 && t->mode != NN_TILE_SCALE
         && t->col_bias == NULL && t->cols >= blocks * NU * NN_TILE_UNIT;
}

/* @strips strips of MR rows, one under the other, each of @blocks blocks. */
#define TILE_DEFINE(MR, NU) \
  static void TILE_FN (tile_##MR##x##NU) (const NnTile *t, guint blocks, guint strips) \
  { \
    if (TILE_FN (plain) (t, blocks, NU)) \
      for (guint strip = 0; strip < strips; strip++) \
        TILE_FN (tile_body) (t, blocks, strip, MR, NU, 1); \
    else \
      for (guint strip = 0; strip < strips; strip++) \
        TILE_FN (tile_body) (t, blocks, strip, MR, NU, 0); \
  }
#define TILE_ENTRY(MR, NU) [NU - 1][MR - 1] = TILE_FN (tile_##MR##x##NU),

TILE_SHAPES (TILE_DEFINE)

static const TileFn TILE_FN (tiles)[TILE_MAX_UNITS][TILE_MAX_ROWS] = {
  TILE_SHAPES (TILE_ENTRY)
};

/* ---- Dot kernels -------------------------------------------------------- */

/* The sum of one accumulator's 16 lanes, lane l holding the terms k with
 * k % 16 == l: halves added in a fixed order, the same on every ISA. */
static inline __attribute__ ((always_inline)) float
TILE_FN (unit_sum) (const tvec *v)
{
#if TILE_VW == 16
  v8 h8 = __builtin_shufflevector (v[0], v[0], 0, 1, 2, 3, 4, 5, 6, 7)
          + __builtin_shufflevector (v[0], v[0], 8, 9, 10, 11, 12, 13, 14, 15);
#elif TILE_VW == 8
  v8 h8 = v[0] + v[1];
#else
  v8 h8 = { v[0][0] + v[2][0], v[0][1] + v[2][1], v[0][2] + v[2][2], v[0][3] + v[2][3],
            v[1][0] + v[3][0], v[1][1] + v[3][1], v[1][2] + v[3][2], v[1][3] + v[3][3] };
#endif
  v4 h4 = __builtin_shufflevector (h8, h8, 0, 1, 2, 3)
          + __builtin_shufflevector (h8, h8, 4, 5, 6, 7);

  return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

static inline __attribute__ ((always_inline)) void
TILE_FN (dot_body) (const NnDotTile *restrict t, const int MR, const int NC)
{
  const gsize whole = t->length / NN_TILE_UNIT * NN_TILE_UNIT;
  const guint rest = (guint) (t->length - whole);
  const gssize a_rs = t->a_rs, b_rs = t->b_rs;
  tvec acc[DOT_MAX_ROWS][DOT_MAX_COLS][VPU];

#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++)
#pragma GCC unroll 4
      for (int v = 0; v < VPU; v++)
        acc[i][j][v] = (tvec) { 0 };

  for (guint g = 0; g < t->groups; g++)
    for (guint s = 0; s < t->segments; s++)
      {
        const float *restrict a = t->a + g * t->a_gs + s * t->a_ss;
        const float *restrict b = t->b + g * t->b_gs + s * t->b_ss;
        tvec av[DOT_MAX_ROWS][VPU], bv[DOT_MAX_COLS][VPU];

        for (gsize k = 0; k < whole; k += NN_TILE_UNIT)
          {
#pragma GCC unroll 4
            for (int v = 0; v < VPU; v++)
              {
#pragma GCC unroll 8
                for (int i = 0; i < MR; i++)
                  av[i][v] = *(const tvecu *) (a + i * a_rs + k + v * TILE_VW);
#pragma GCC unroll 8
                for (int j = 0; j < NC; j++)
                  bv[j][v] = *(const tvecu *) (b + j * b_rs + k + v * TILE_VW);
#pragma GCC unroll 8
                for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
                  for (int j = 0; j < NC; j++)
                    acc[i][j][v] += av[i][v] * bv[j][v];
              }
          }
        if (rest != 0)
#pragma GCC unroll 4
          for (int v = 0; v < VPU; v++)
            {
              guint n = rest <= (guint) v * TILE_VW ? 0 : MIN (rest - (guint) v * TILE_VW, TILE_VW);

#pragma GCC unroll 8
              for (int i = 0; i < MR; i++)
                av[i][v] = TILE_FN (load_c) (a + i * a_rs + whole + v * TILE_VW, n);
#pragma GCC unroll 8
              for (int j = 0; j < NC; j++)
                bv[j][v] = TILE_FN (load_c) (b + j * b_rs + whole + v * TILE_VW, n);
#pragma GCC unroll 8
              for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
                for (int j = 0; j < NC; j++)
                  acc[i][j][v] += av[i][v] * bv[j][v];
            }
      }

#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++)
      {
        float *c = t->c + i * t->c_rs + j * t->c_cs;
        float sum = TILE_FN (unit_sum) (acc[i][j]);

        if (t->mode == NN_TILE_ACCUMULATE)
          *c += sum;
        else if (t->mode == NN_TILE_SCALE)
          *c = t->beta == 0.0f ? t->alpha * sum : t->alpha * sum + t->beta * *c;
        else
          *c = sum;
      }
}

#define DOT_DEFINE(MR, NC) \
  static void TILE_FN (dot_##MR##x##NC) (const NnDotTile *t) { TILE_FN (dot_body) (t, MR, NC); }
#define DOT_ENTRY(MR, NC) [MR - 1][NC - 1] = TILE_FN (dot_##MR##x##NC),

DOT_SHAPES (DOT_DEFINE)

static const DotFn TILE_FN (dots)[DOT_MAX_ROWS][DOT_MAX_COLS] = {
  DOT_SHAPES (DOT_ENTRY)
};

/* ---- Transposes -------------------------------------------------------- */

#if TILE_VW == 16
/* Sixteen rows of 16 floats become sixteen columns, in four rounds of
 * two-vector shuffles (pairs of floats, of pairs, of 128-bit lanes, of
 * 256-bit halves). */
static inline __attribute__ ((always_inline)) void
TILE_FN (transpose_regs) (tvec r[16])
{
  tvec t[16], u[16], v[16];

#pragma GCC unroll 8
  for (int i = 0; i < 8; i++)
    {
      t[2 * i] = __builtin_shufflevector (r[2 * i], r[2 * i + 1],
                                          0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
      t[2 * i + 1] = __builtin_shufflevector (r[2 * i], r[2 * i + 1],
                                              2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
    }
  /* u[4g + m]: columns m, m + 4, m + 8, m + 12 of rows 4g .. 4g + 3 */
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++)
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++)
      {
        u[4 * g + 2 * h] = __builtin_shufflevector (t[4 * g + h], t[4 * g + h + 2],
                                                    0, 1, 16, 17, 4, 5, 20, 21,
                                                    8, 9, 24, 25, 12, 13, 28, 29);
        u[4 * g + 2 * h + 1] = __builtin_shufflevector (t[4 * g + h], t[4 * g + h + 2],
                                                        2, 3, 18, 19, 6, 7, 22, 23,
                                                        10, 11, 26, 27, 14, 15, 30, 31);
      }
  /* v[8h + 2m]: columns m, m + 8 of rows 8h .. 8h + 7; v[8h + 2m + 1]:
   * columns m + 4, m + 12 */
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++)
      {
        v[8 * h + 2 * m] = __builtin_shufflevector (u[8 * h + m], u[8 * h + 4 + m],
                                                    0, 1, 2, 3, 16, 17, 18, 19,
                                                    8, 9, 10, 11, 24, 25, 26, 27);
        v[8 * h + 2 * m + 1] = __builtin_shufflevector (u[8 * h + m], u[8 * h + 4 + m],
                                                        4, 5, 6, 7, 20, 21, 22, 23,
                                                        12, 13, 14, 15, 28, 29, 30, 31);
      }
#pragma GCC unroll 4
  for (int m = 0; m < 4; m++)
    {
      r[m] = __builtin_shufflevector (v[2 * m], v[8 + 2 * m],
                                      0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
      r[m + 8] = __builtin_shufflevector (v[2 * m], v[8 + 2 * m],
                                          8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
      r[m + 4] = __builtin_shufflevector (v[2 * m + 1], v[8 + 2 * m + 1],
                                          0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
      r[m + 12] = __builtin_shufflevector (v[2 * m + 1], v[8 + 2 * m + 1],
                                           8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    }
}

#elif TILE_VW == 8
/* Eight rows of 8 floats become eight columns: pairs of floats, pairs of
 * pairs, then 128-bit halves. */
static inline __attribute__ ((always_inline)) void
TILE_FN (transpose_regs) (tvec r[8])
{
  tvec t[8], u[8];

#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
    {
      t[2 * i] = __builtin_shufflevector (r[2 * i], r[2 * i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
      t[2 * i + 1] = __builtin_shufflevector (r[2 * i], r[2 * i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
  /* u[4g + m]: columns m and m + 4 of rows 4g .. 4g + 3 */
#pragma GCC unroll 2
  for (int g = 0; g < 2; g++)
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++)
      {
        u[4 * g + 2 * h] = __builtin_shufflevector (t[4 * g + h], t[4 * g + h + 2],
                                                    0, 1, 8, 9, 4, 5, 12, 13);
        u[4 * g + 2 * h + 1] = __builtin_shufflevector (t[4 * g + h], t[4 * g + h + 2],
                                                        2, 3, 10, 11, 6, 7, 14, 15);
      }
#pragma GCC unroll 4
  for (int m = 0; m < 4; m++)
    {
      r[m] = __builtin_shufflevector (u[m], u[4 + m], 0, 1, 2, 3, 8, 9, 10, 11);
      r[m + 4] = __builtin_shufflevector (u[m], u[4 + m], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

#endif

#if TILE_VW >= 8
/* Blocks of TILE_VW x TILE_VW, transposed in registers; with @sums, each
 * row's values are added to its sum in column order, one vector of rows
 * after the other. */
static inline __attribute__ ((always_inline)) void
TILE_FN (transpose_body) (const float *src, gsize src_stride, guint rows, guint cols,
                          float *dst, gsize dst_stride, float *sums, const gboolean SUMS)
{
  for (guint i0 = 0; i0 < rows; i0 += TILE_VW)
    {
      const guint nr = MIN (TILE_VW, rows - i0);
      tvec sum = { 0 };

      if (SUMS)
        sum = TILE_FN (load_c) (sums + i0, nr);
      for (guint j0 = 0; j0 < cols; j0 += TILE_VW)
        {
          guint nc = MIN (TILE_VW, cols - j0);
          tvec r[TILE_VW];

          if (nr == TILE_VW && nc == TILE_VW)
            {
              /* Whole blocks without a test per row, and their rows'
               * addresses by increments: the general path below compiles
               * to a branch and a multiplication per row. */
              const float *s = src + i0 * src_stride + j0;
              float *d = dst + j0 * dst_stride + i0;

#pragma GCC unroll 16
              for (int i = 0; i < TILE_VW; i++, s += src_stride)
                r[i] = *(const tvecu *) s;
              TILE_FN (transpose_regs) (r);
#pragma GCC unroll 16
              for (int j = 0; j < TILE_VW; j++, d += dst_stride)
                {
                  *(tvecu *) d = r[j];
                  if (SUMS)
                    sum += r[j];
                }
              continue;
            }
#pragma GCC unroll 16
          for (int i = 0; i < TILE_VW; i++)
            r[i] = (guint) i < nr ? TILE_FN (load_c) (src + (i0 + i) * src_stride + j0, nc)
                                  : (tvec) { 0 };
          TILE_FN (transpose_regs) (r);
#pragma GCC unroll 16
          for (int j = 0; j < TILE_VW; j++)
            if ((guint) j < nc)
              {
                TILE_FN (store_c) (dst + (j0 + j) * dst_stride + i0, &r[j], nr);
                if (SUMS)
                  sum += r[j];
              }
        }
      if (SUMS)
        TILE_FN (store_c) (sums + i0, &sum, nr);
    }
}
#else
static inline __attribute__ ((always_inline)) void
TILE_FN (transpose_body) (const float *src, gsize src_stride, guint rows, guint cols,
                          float *dst, gsize dst_stride, float *sums, const gboolean SUMS)
{
  for (guint i0 = 0; i0 < rows; i0 += 8)
    for (guint j = 0; j < cols; j++)
      for (guint i = i0; i < MIN (i0 + 8, rows); i++)
        {
          dst[j * dst_stride + i] = src[i * src_stride + j];
          if (SUMS)
            sums[i] += src[i * src_stride + j];
        }
}
#endif

static void
TILE_FN (transpose) (const float *src, gsize src_stride, guint rows, guint cols,
                     float *dst, gsize dst_stride)
{
  TILE_FN (transpose_body) (src, src_stride, rows, cols, dst, dst_stride, NULL, FALSE);
}

static void
TILE_FN (transpose_sum) (const float *src, gsize src_stride, guint rows, guint cols,
                         float *dst, gsize dst_stride, float *sums)
{
  TILE_FN (transpose_body) (src, src_stride, rows, cols, dst, dst_stride, sums, TRUE);
}

/* ---- Copies ------------------------------------------------------------ */

static void
TILE_FN (copy_block) (const float *src, gsize src_stride, guint rows, guint len,
                      float *dst, gsize dst_stride)
{
  const guint whole = len / TILE_VW * TILE_VW, rest = len - whole;

  for (guint i = 0; i < rows; i++)
    {
      const float *s = src + i * src_stride;
      float *d = dst + i * dst_stride;

      for (guint x = 0; x < whole; x += TILE_VW)
        *(tvecu *) (d + x) = *(const tvecu *) (s + x);
      /* The rest as a whole vector ending at @len, over floats already
       * copied: a masked store costs some twenty cycles on AMD Zen 3. */
      if (rest != 0 && whole != 0)
        *(tvecu *) (d + len - TILE_VW) = *(const tvecu *) (s + len - TILE_VW);
      else if (rest != 0)
        {
          tvec v = TILE_FN (load_part) (s + whole, rest);

          TILE_FN (store_part) (d + whole, &v, rest);
        }
    }
}

/* ---- 2x2 max-pooling --------------------------------------------------- */

#if TILE_VW >= 8
/* Where the vector of a row of @ow values that would start at @x starts:
 * a last vector the row does not fill is taken as the one ending the row,
 * again computing some values already stored (a masked store is slow on
 * AMD Zen 3). */
static inline __attribute__ ((always_inline)) guint
TILE_FN (row_vector_start) (guint ow, guint x)
{
  return ow > TILE_VW && ow - x < TILE_VW ? ow - TILE_VW : x;
}

/* Output row @oy of a plane of @w columns: the larger of each pair, then
 * of the pairs, first in reading order on ties, with where it came from;
 * lanes that saw a NaN are set in @nan. */
static inline __attribute__ ((always_inline)) void
TILE_FN (maxpool_row) (const float *src, guint w, guint oy, guint ow, float *out,
                       gint32 *argmax, tveci *nan)
{
  const float *r0 = src + (gsize) 2 * oy * w, *r1 = r0 + w;
  const gint32 row_first = (gint32) (2 * oy * w);

  for (guint x = 0; x < ow; x += TILE_VW)
    {
      const guint x0 = TILE_FN (row_vector_start) (ow, x);
      const guint n = MIN (TILE_VW, ow - x0);
      tvec v[4], a, b, c, d, ab, cd, top;
      tveci lanes, m;

#pragma GCC unroll 2
      for (int r = 0; r < 2; r++)
        {
          const float *row = (r == 0 ? r0 : r1) + 2 * x0;

          v[2 * r] = TILE_FN (load_c) (row, MIN (2 * n, TILE_VW));
          v[2 * r + 1] = TILE_FN (load_c) (row + TILE_VW, 2 * n > TILE_VW ? 2 * n - TILE_VW : 0);
        }
#if TILE_VW == 16
#define EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
      lanes = (tveci) { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
#else
#define EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define ODD 1, 3, 5, 7, 9, 11, 13, 15
      lanes = (tveci) { 0, 1, 2, 3, 4, 5, 6, 7 };
#endif
      a = __builtin_shufflevector (v[0], v[1], EVEN);
      b = __builtin_shufflevector (v[0], v[1], ODD);
      c = __builtin_shufflevector (v[2], v[3], EVEN);
      d = __builtin_shufflevector (v[2], v[3], ODD);
#undef EVEN
#undef ODD
      *nan |= (a != a) | (b != b) | (c != c) | (d != d);
      m = b > a;
      ab = (tvec) ((m & (tveci) b) | (~m & (tveci) a));
      m = d > c;
      cd = (tvec) ((m & (tveci) d) | (~m & (tveci) c));
      m = cd > ab;
      top = (tvec) ((m & (tveci) cd) | (~m & (tveci) ab));
      TILE_FN (store_c) (out + x0, &top, n);
      if (argmax != NULL)
        {
          /* As the scalar rule: the last match from the end wins. */
          tveci first = row_first + 2 * ((gint32) x0 + lanes);
          tveci at = first + (gint32) w + 1;

          m = c == top;
          at = (m & (first + (gint32) w)) | (~m & at);
          m = b == top;
          at = (m & (first + 1)) | (~m & at);
          m = a == top;
          at = (m & first) | (~m & at);
          if (n == TILE_VW)
            *(tveciu *) (argmax + x0) = at;
          else
            TILE_FN (store_part_i) (argmax + x0, &at, n);
        }
    }
}
#endif

/* A whole plane's @oh output rows, one call for all of them (a call per
 * row cost more than the row for 14 windows). Returns FALSE, leaving the
 * plane to the caller, when it holds a NaN. */
static gboolean
TILE_FN (maxpool_plane) (const float *src, guint w, guint oh, guint ow, float *out,
                         gint32 *argmax)
{
#if TILE_VW >= 8
  tveci nan = { 0 };

  for (guint oy = 0; oy < oh; oy++)
    TILE_FN (maxpool_row) (src, w, oy, ow, out + (gsize) oy * ow,
                           argmax != NULL ? argmax + (gsize) oy * ow : NULL, &nan);
  /* Lanes past a row were loaded as zeros: any NaN is the plane's. */
  for (guint l = 0; l < TILE_VW; l++)
    if (nan[l])
      return FALSE;
  return TRUE;
#else
  return FALSE;
#endif
}

/* Backward of output row @oy: each window's two input rows get its
 * gradient @g at the winner (@argmax, an index in the plane) and zeros
 * elsewhere; with @pooled (the forward output: the ReLU'd winner) only
 * where it is positive. */
static void
TILE_FN (maxpool_backward_row) (const float *g, const gint32 *argmax, const float *pooled,
                                guint w, guint oy, guint ow, float *din)
{
  float *r0 = din + (gsize) 2 * oy * w, *r1 = r0 + w;
  const gint32 row_first = (gint32) (2 * oy * w);

#if TILE_VW >= 8
  for (guint x = 0; x < ow; x += TILE_VW)
    {
      const guint x0 = TILE_FN (row_vector_start) (ow, x);
#if TILE_VW == 16
      const tveci lanes = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
#define LOW 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define HIGH 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#else
      const tveci lanes = { 0, 1, 2, 3, 4, 5, 6, 7 };
#define LOW 0, 8, 1, 9, 2, 10, 3, 11
#define HIGH 4, 12, 5, 13, 6, 14, 7, 15
#endif
      /* A row's last windows may not fill a vector: lanes past them load
       * zeros and are not stored. */
      const guint n = MIN (TILE_VW, ow - x0);
      const guint low = MIN (2 * n, TILE_VW), high = 2 * n - low;
      tvec value = TILE_FN (load_c) (g + x0, n), v[4], x;
      tveci at = TILE_FN (load_part_i) (argmax + x0, n) - (row_first + 2 * ((gint32) x0 + lanes));
      if (pooled != NULL)
        value = (tvec) ((tveci) (TILE_FN (load_c) (pooled + x0, n) > (tvec) { 0 }) & (tveci) value);
      v[0] = (tvec) ((tveci) (at == 0) & (tveci) value);
      v[1] = (tvec) ((tveci) (at == 1) & (tveci) value);
      v[2] = (tvec) ((tveci) (at == (gint32) w) & (tveci) value);
      v[3] = (tvec) ((tveci) (at == (gint32) w + 1) & (tveci) value);
      x = __builtin_shufflevector (v[0], v[1], LOW);
      TILE_FN (store_c) (r0 + 2 * x0, &x, low);
      x = __builtin_shufflevector (v[0], v[1], HIGH);
      TILE_FN (store_c) (r0 + 2 * x0 + TILE_VW, &x, high);
      x = __builtin_shufflevector (v[2], v[3], LOW);
      TILE_FN (store_c) (r1 + 2 * x0, &x, low);
      x = __builtin_shufflevector (v[2], v[3], HIGH);
      TILE_FN (store_c) (r1 + 2 * x0 + TILE_VW, &x, high);
#undef LOW
#undef HIGH
    }
#else
  for (guint x0 = 0; x0 < ow; x0++)
    {
      gint32 offset = argmax[x0] - row_first - (gint32) (2 * x0);
      float value = g[x0];

      if (pooled != NULL)
        value = pooled[x0] > 0.0f ? value : 0.0f;
      r0[2 * x0] = offset == 0 ? value : 0.0f;
      r0[2 * x0 + 1] = offset == 1 ? value : 0.0f;
      r1[2 * x0] = offset == (gint32) w ? value : 0.0f;
      r1[2 * x0 + 1] = offset == (gint32) w + 1 ? value : 0.0f;
    }
#endif
}

#undef TILE_DEFINE
#undef TILE_ENTRY
#undef DOT_DEFINE
#undef DOT_ENTRY
#undef VPU
