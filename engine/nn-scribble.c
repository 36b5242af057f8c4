/* nn-scribble.c — drawings that are no digit, for teaching "not sure".
 *
 * A network trained on digits alone answers every input with a digit, and
 * often confidently: a scribble is read as a 5 with 98% certainty. Shown
 * some scribbles during training with a target that favours no digit (one
 * tenth each), it learns to spread its answer over the digits for ink that
 * looks like none of them, so the app's "not sure" rule catches it (see
 * docs/augmentation.md).
 *
 * A scribble is a tangle of two to five wandering pen strokes on the app's
 * 280-pixel canvas, rasterised and prepared exactly as a drawing on the
 * canvas is (nn_drawing_to_image). They are kept clearly busier than any
 * digit: at least 24 segments in all, never a single stroke. A model shown
 * single curls or short strokes as "no digit" learns to doubt the 6s, 1s
 * and 7s people draw (a first version of this, with one-stroke scribbles
 * among them, withheld 7% of machine-drawn digits and misread 36 of 600
 * 6s).
 */
#include <math.h>

#include "nn-augment.h"
#include "nn-private.h"

#define SIDE         ((float) NN_DRAWING_RASTER_SIDE)
#define MARGIN       5.0f
#define MIN_SEGMENTS 24

static float
between (NnRng *rng, float low, float high)
{
  return low + (high - low) * nn_rng_uniform (rng);
}

/* One stroke wandering from a random point: returns its segments. */
static guint
add_stroke (NnDrawing *drawing, NnRng *rng, float wander)
{
  float x = between (rng, 0.15f * SIDE, 0.85f * SIDE);
  float y = between (rng, 0.15f * SIDE, 0.85f * SIDE);
  float heading = between (rng, 0.0f, 2.0f * G_PI);
  guint segments = 6 + nn_rng_below (rng, 20);

  nn_drawing_begin_stroke (drawing, x, y);
  for (guint i = 0; i < segments; i++)
    {
      float turn = wander * nn_rng_normal (rng);
      float step = between (rng, 0.02f, 0.065f) * SIDE;

      heading += turn;
      x = CLAMP (x + step * cosf (heading), MARGIN, SIDE - MARGIN);
      y = CLAMP (y + step * sinf (heading), MARGIN, SIDE - MARGIN);
      nn_drawing_extend_stroke (drawing, x, y);
    }
  return segments;
}

void
nn_scribble_image (guint64 seed, float out[NN_IMAGE_PIXELS])
{
  NnRng rng;

  nn_rng_init (&rng, seed);
  for (;;)
    {
      g_autoptr(NnDrawing) drawing = nn_drawing_new (NN_DRAWING_RASTER_SIDE, NN_DRAWING_RASTER_SIDE);
      guint strokes = 2 + nn_rng_below (&rng, 4), segments = 0;
      float wander = between (&rng, 0.5f, 1.1f);
      /* Pens from thin to thick, as the app's pen width slider allows. */
      float pen = between (&rng, 0.6f, 1.6f);

      nn_drawing_set_pen_width (drawing, pen * nn_pen_width_for_size (NN_DRAWING_RASTER_SIDE,
                                                                       NN_DRAWING_RASTER_SIDE, 1.0f));
      for (guint s = 0; s < strokes; s++)
        segments += add_stroke (drawing, &rng, wander);
      if (segments < MIN_SEGMENTS)
        continue;
      if (nn_drawing_to_image (drawing, out, NULL))
        return;
    }
}
