/* nn-rng.c — the engine's seeded random numbers.
 *
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64: small, fast,
 * and the same integer sequence on every platform, so a seed names a run.
 */
#include <math.h>

#include "nn-private.h"

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

guint64
nn_seed_mix (guint64 a, guint64 b)
{
  guint64 state = a ^ (b * G_GUINT64_CONSTANT (0xd1342543de82ef95));

  splitmix64 (&state);
  return splitmix64 (&state);
}

void
nn_rng_init (NnRng *rng, guint64 seed)
{
  guint64 state = seed;

  for (guint i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&state);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
nn_rng_next (NnRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

/* Lemire's multiply-and-reject: unbiased for every bound. */
guint32
nn_rng_below (NnRng *rng, guint32 bound)
{
  guint64 product;
  guint32 low;

  if (bound <= 1)
    return 0;
  product = (nn_rng_next (rng) >> 32) * (guint64) bound;
  low = (guint32) product;
  if (low < bound)
    {
      guint32 threshold = -bound % bound;

      while (low < threshold)
        {
          product = (nn_rng_next (rng) >> 32) * (guint64) bound;
          low = (guint32) product;
        }
    }
  return (guint32) (product >> 32);
}

float
nn_rng_uniform (NnRng *rng)
{
  /* 24 random bits: every value is exact in a float and below 1. */
  return (float) (nn_rng_next (rng) >> 40) * 0x1.0p-24f;
}

/* Box-Muller on two 53-bit uniforms; u1 is in (0, 1] so its log is finite. */
float
nn_rng_normal (NnRng *rng)
{
  double u1 = ((nn_rng_next (rng) >> 11) + 1) * 0x1.0p-53;
  double u2 = (nn_rng_next (rng) >> 11) * 0x1.0p-53;

  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

/* Fisher-Yates, from the end. */
void
nn_rng_shuffle (NnRng *rng, guint32 *items, guint n)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = nn_rng_below (rng, i);
      guint32 tmp = items[i - 1];

      items[i - 1] = items[j];
      items[j] = tmp;
    }
}
