/* nn-augment.h — random distortions of training images (private).
 *
 * Applied per image, on the fly, while a batch is assembled. Each image gets
 * its own generator seeded from (run seed, epoch, image index), so the result
 * does not depend on how images are spread over threads.
 *
 * Drawing the random values (nn_augment_draw) is kept apart from applying
 * them (nn_augment_image_with), so tests and previews can ask for one exact
 * distortion. docs/augmentation.md explains each range and its default. */
#pragma once

#include "nn.h"

typedef struct {
  float rotation_deg;     /* uniform in [-r, r]; positive turns anticlockwise */
  float scale_min, scale_max; /* overall size, uniform in [min, max] */
  float aspect;           /* uniform a in [-a, a]: width * e^a, height / e^a */
  float shear;            /* uniform in [-s, s], x += s * y */
  float translate_px;     /* uniform in [-t, t], each axis */
  float elastic_alpha;    /* RMS displacement in pixels, per axis; 0 = off */
  float elastic_sigma;    /* smoothness of the displacement field, pixels */
  float elastic_probability; /* share of images that get the elastic field */
  float stroke_min, stroke_max; /* change of stroke width in pixels: thin
                                   (< 0) or thicken (> 0), uniform */
  float stroke_width_min;  /* the change stops at these widths (estimated */
  float stroke_width_max;  /* per image); 0 = no limit */
  /* Digit styles MNIST's American writers seldom used (see
   * nn_augment_params_add_digit_styles); only nn_augment_digit applies them,
   * each to its own digit. */
  float one_flag_probability;   /* share of 1s given a flag at the top */
  float one_flag_length_min, one_flag_length_max;  /* of the ink's height */
  float one_flag_angle_min, one_flag_angle_max;    /* degrees from the stem */
  float seven_bar_probability;  /* share of 7s crossed through the stem */
  float seven_bar_length_min, seven_bar_length_max; /* of the ink's height */
} NnAugmentParams;

/* One distortion, every value explicit. Identity: scales 1, the rest 0. */
typedef struct {
  float   rotation_deg;
  float   scale_x, scale_y;
  float   shear;
  float   translate_x, translate_y;   /* pixels, x right, y down */
  float   elastic_alpha;              /* 0 = no elastic field */
  float   elastic_sigma;
  guint64 elastic_seed;               /* the field's white noise */
  float   stroke;                     /* change of stroke width, pixels */
  float   stroke_width_min;           /* limits on the resulting width; */
  float   stroke_width_max;           /* 0 = none */
  float   one_flag_length;            /* of the ink's height; 0 = no flag */
  float   one_flag_angle_deg;         /* from the stem, towards the left */
  float   seven_bar_length;           /* of the ink's height; 0 = no bar */
  float   seven_bar_position;         /* down the ink's height, 0 top, 1 bottom */
  float   seven_bar_tilt_deg;         /* anticlockwise */
} NnAugmentTransform;

/* The documented defaults (see docs/augmentation.md). */
void nn_augment_params_default (NnAugmentParams *params);

/* Turns on the digit styles with their documented ranges: a flag on the
 * 1 and a bar across the 7, as most of Europe and Latin America write
 * them. */
void nn_augment_params_add_digit_styles (NnAugmentParams *params);

/* Params whose every range is empty: the output is the input. */
void nn_augment_params_identity (NnAugmentParams *params);

void nn_augment_transform_identity (NnAugmentTransform *transform);

/* Draws one distortion from @params with a generator seeded by @seed. */
void nn_augment_draw (const NnAugmentParams *params, guint64 seed,
                      NnAugmentTransform *transform);

/* Applies @transform to one 28x28 byte image (0 = background, 255 = ink),
 * writing floats in [0, 1]: the digit styles it asks for (drawn first, so
 * they are distorted with the digit), the affine map and the elastic field in one
 * bilinear resampling pass (zero outside), then the stroke width change
 * (limited, if asked, by the width estimated from the resampled image).
 * @in and @out do not overlap. Thread-safe; allocates nothing. */
void nn_augment_image_with (const NnAugmentTransform *transform,
                            const guint8 *in, float *out);

/* nn_augment_draw followed by nn_augment_image_with, without digit
 * styles: for images whose labels are not digits. */
void nn_augment_image (const NnAugmentParams *params, guint64 seed,
                       const guint8 *in, float *out);

/* The same for an image of digit @label: a style is applied only to its
 * own digit. */
void nn_augment_digit (const NnAugmentParams *params, guint64 seed,
                       guint label, const guint8 *in, float *out);

/* The per-image seed: mixes the run seed, the epoch and the image index. */
guint64 nn_augment_seed (guint64 run_seed, guint epoch, guint index);

/* A random scribble that is no digit, prepared as the app's canvas prepares
 * a drawing (nn-scribble.c); the same seed gives the same scribble. */
void nn_scribble_image (guint64 seed, float out[NN_IMAGE_PIXELS]);
