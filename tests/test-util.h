/* test-util.h — small helpers shared by the engine-core tests.
 *
 * Hand-built layer shapes (the spec parser only knows 28x28 inputs, the
 * tests want odd little ones), synthetic data sets that need no MNIST, and
 * floating-point traps so a NaN fails the test where it is made.
 */
#pragma once

/* feenableexcept; include this header before any other. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <fenv.h>
#include <math.h>
#include <string.h>

#include "nn-private.h"

/* Traps invalid operations, division by zero and overflow: the engine must
 * never produce them from finite inputs. */
static inline void
test_trap_fp_exceptions (void)
{
#if defined(__GLIBC__) && defined(FE_INVALID)
  feenableexcept (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW);
#endif
}

/* A layer of @kind on a @c x @h x @w input, with its output shape worked
 * out as the spec parser would. @size is the kernel (conv) and @units the
 * output channels or features. */
static inline NnLayer
test_layer (NnLayerKind kind, guint c, guint h, guint w,
            guint size, gboolean valid, guint units)
{
  NnLayer layer = { 0 };

  layer.kind = kind;
  layer.in_c = layer.out_c = c;
  layer.in_h = layer.out_h = h;
  layer.in_w = layer.out_w = w;
  switch (kind)
    {
    case NN_LAYER_CONV:
      layer.kernel = size;
      layer.pad = valid ? 0 : (size - 1) / 2;
      layer.units = layer.out_c = units;
      layer.out_h = h + 2 * layer.pad - size + 1;
      layer.out_w = w + 2 * layer.pad - size + 1;
      layer.n_params = nn_layer_weight_size (&layer) + units;
      break;
    case NN_LAYER_MAXPOOL:
      layer.out_h = h / 2;
      layer.out_w = w / 2;
      break;
    case NN_LAYER_DENSE:
      layer.units = layer.out_c = units;
      layer.out_h = layer.out_w = 1;
      layer.flat = TRUE;
      layer.n_params = nn_layer_weight_size (&layer) + units;
      break;
    case NN_LAYER_BATCHNORM:
      layer.n_params = 2 * c;
      layer.n_buffers = 2 * c;
      break;
    default:
      break;
    }
  return layer;
}

static inline void
test_fill_uniform (NnRng *rng, float *data, gsize n, float low, float high)
{
  for (gsize i = 0; i < n; i++)
    data[i] = low + (high - low) * nn_rng_uniform (rng);
}

/* @count random images, labels cycling through the digits: a data set a
 * network can only learn by heart. */
static inline NnDataset *
test_random_dataset (guint count, guint64 seed)
{
  NnDataset *dataset = g_new0 (NnDataset, 1);
  NnRng rng;

  nn_rng_init (&rng, seed);
  dataset->count = count;
  dataset->rows = dataset->cols = NN_IMAGE_SIDE;
  dataset->images = g_malloc ((gsize) count * NN_IMAGE_PIXELS);
  dataset->labels = g_malloc (count);
  for (guint i = 0; i < count; i++)
    {
      for (guint p = 0; p < NN_IMAGE_PIXELS; p++)
        dataset->images[(gsize) i * NN_IMAGE_PIXELS + p] =
          nn_rng_below (&rng, 4) == 0 ? (guint8) nn_rng_below (&rng, 256) : 0;
      dataset->labels[i] = i % NN_CLASSES;
    }
  return dataset;
}

/* @count images of learnable classes: each digit class is a bar at its own
 * position and angle, drawn with random thickness, shift and noise. */
static inline NnDataset *
test_bars_dataset (guint count, guint64 seed)
{
  NnDataset *dataset = g_new0 (NnDataset, 1);
  NnRng rng;

  nn_rng_init (&rng, seed);
  dataset->count = count;
  dataset->rows = dataset->cols = NN_IMAGE_SIDE;
  dataset->images = g_malloc0 ((gsize) count * NN_IMAGE_PIXELS);
  dataset->labels = g_malloc (count);
  for (guint i = 0; i < count; i++)
    {
      guint8 *image = dataset->images + (gsize) i * NN_IMAGE_PIXELS;
      guint label = nn_rng_below (&rng, NN_CLASSES);
      int shift_x = (int) nn_rng_below (&rng, 5) - 2, shift_y = (int) nn_rng_below (&rng, 5) - 2;
      float thickness = 1.0f + 2.0f * nn_rng_uniform (&rng);
      float angle = (float) G_PI * label / NN_CLASSES;
      float dx = cosf (angle), dy = sinf (angle);

      for (int y = 0; y < NN_IMAGE_SIDE; y++)
        for (int x = 0; x < NN_IMAGE_SIDE; x++)
          {
            float u = x - 14.0f - shift_x, v = y - 14.0f - shift_y;
            float along = u * dx + v * dy, across = -u * dy + v * dx;
            float ink = fabsf (across) < thickness && fabsf (along) < 9.0f ? 255.0f : 0.0f;

            ink += 40.0f * nn_rng_uniform (&rng);
            image[y * NN_IMAGE_SIDE + x] = (guint8) MIN (ink, 255.0f);
          }
      dataset->labels[i] = label;
    }
  return dataset;
}

static inline gboolean
test_floats_equal (const float *a, const float *b, gsize n)
{
  return memcmp (a, b, n * sizeof (float)) == 0;
}
