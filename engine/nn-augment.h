/* nn-augment.h — random distortions of training images (private).
 *
 * Applied per image, on the fly, while a batch is assembled. Each image gets
 * its own generator seeded from (run seed, epoch, image index), so the result
 * does not depend on how images are spread over threads. */
#pragma once

#include "nn.h"

typedef struct {
  float rotation_deg;     /* uniform in [-r, r] */
  float scale_min, scale_max;
  float shear;            /* uniform in [-s, s], x += s * y */
  float translate_px;     /* uniform in [-t, t], each axis */
  float elastic_alpha;    /* displacement strength in pixels; 0 = off */
  float elastic_sigma;    /* smoothness of the displacement field */
  float stroke_min, stroke_max; /* thin (<0) / thicken (>0) ink, in pixels */
} NnAugmentParams;

/* The documented defaults (see docs/augmentation.md). */
void nn_augment_params_default (NnAugmentParams *params);

/* Distorts one 28x28 byte image (0 = background, 255 = ink) into floats in
 * [0, 1]. @in and @out do not overlap. Thread-safe. */
void nn_augment_image (const NnAugmentParams *params, guint64 seed,
                       const guint8 *in, float *out);

/* The per-image seed: mixes the run seed, the epoch and the image index. */
guint64 nn_augment_seed (guint64 run_seed, guint epoch, guint index);
