/* nn-augment.c — random distortions of training images.
 *
 * MNIST digits are pen strokes scanned, size-normalised and centred; the
 * digits people draw with a mouse are uniform-width polylines, slanted,
 * off-centre, thinner or thicker. Training on randomly distorted copies
 * closes that gap. Per image: an affine map (rotation, scale, aspect,
 * shear, translation) and, for some images, a smooth elastic field
 * (Simard et al. 2003) are applied in one bilinear resampling (a first,
 * trial pass finds how far the field moved the ink); then the strokes are
 * thinned or thickened by a fraction of a pixel or more. Optionally, before
 * all that, 1s get a flag and 7s a bar (digit styles, below).
 *
 * Everything lives on the stack: the trainer calls this from many threads
 * for every image of every epoch. docs/augmentation.md has the reasons for
 * each range. */
#include "nn-augment.h"

#include <math.h>
#include <string.h>

#define SIDE   NN_IMAGE_SIDE
#define PIXELS NN_IMAGE_PIXELS

/* Rotation, scaling and shear turn about the middle of the image, the point
 * between pixels 13 and 14 on each axis. */
#define CENTRE ((SIDE - 1) * 0.5f)

/* The elastic field is built on a grid of nodes every 1, 2 or 4 pixels
 * (see ElasticField); the Gaussian that smooths it is cut at 3 sigma, and
 * fields wider than the image are nearly uniform over it anyway. */
#define ELASTIC_MAX_NODES  (SIDE + 1)
#define ELASTIC_MAX_RADIUS SIDE
#define ELASTIC_PADDED     (ELASTIC_MAX_NODES + 2 * ELASTIC_MAX_RADIUS)

/* Stroke width changes beyond ±4 px are not strokes any more; the window of
 * the morphology below is sized for them. */
#define STROKE_LIMIT 4.0f
#define MORPH_PAD    3
#define MORPH_SIDE   (SIDE + 2 * MORPH_PAD)

void
nn_augment_params_default (NnAugmentParams *params)
{
  /* Tuned by eye on grids of distorted MNIST digits (tests/augment-preview):
   * every digit must stay readable as itself. docs/augmentation.md says
   * why each range is what it is. */
  *params = (NnAugmentParams) {
    .rotation_deg = 12.0f,
    .scale_min = 0.85f,
    .scale_max = 1.12f,
    .aspect = 0.10f,
    .shear = 0.25f,
    .translate_px = 2.0f,
    .elastic_alpha = 1.0f,
    .elastic_sigma = 4.0f,
    .elastic_probability = 0.5f,
    .stroke_min = -1.0f,
    .stroke_max = 1.5f,
    .stroke_width_min = 1.3f,
    .stroke_width_max = 4.0f,
  };
}

void
nn_augment_params_add_digit_styles (NnAugmentParams *params)
{
  /* MNIST's writers were American: its 1s are bare strokes and its 7s
   * uncrossed, so a network trained on it reads a flagged 1 as a 7. A flag
   * from 15% to 40% of the height, 30 to 70 degrees off the stem, spans the
   * short serif to the long continental hook (longer ones are 7s' bars);
   * the bar of a crossed 7 is about half as long as the digit is high.
   * Both styles are common enough in the world to give a good share of
   * each digit. */
  params->one_flag_probability = 0.4f;
  params->one_flag_length_min = 0.15f;
  params->one_flag_length_max = 0.4f;
  params->one_flag_angle_min = 30.0f;
  params->one_flag_angle_max = 70.0f;
  params->seven_bar_probability = 0.3f;
  params->seven_bar_length_min = 0.35f;
  params->seven_bar_length_max = 0.6f;
}

void
nn_augment_params_identity (NnAugmentParams *params)
{
  *params = (NnAugmentParams) { .scale_min = 1.0f, .scale_max = 1.0f };
}

void
nn_augment_transform_identity (NnAugmentTransform *transform)
{
  *transform = (NnAugmentTransform) { .scale_x = 1.0f, .scale_y = 1.0f };
}

/* splitmix64's output function: a bijection that spreads every input bit
 * over every output bit. */
static guint64
mix64 (guint64 z)
{
  z += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

guint64
nn_augment_seed (guint64 run_seed, guint epoch, guint index)
{
  /* Mixing after each part keeps (seed, epoch, index) and, say,
   * (seed, epoch + 1, index - 1) apart; the constant keeps the streams away
   * from the ones the trainer seeds directly from run_seed. */
  guint64 h = mix64 (run_seed ^ G_GUINT64_CONSTANT (0x6a09e667f3bcc909));
  h = mix64 (h ^ epoch);
  return mix64 (h ^ index);
}

static float
uniform_between (NnRng *rng, float low, float high)
{
  /* Always draws, so the stream does not depend on which ranges are empty. */
  float u = nn_rng_uniform (rng);
  return low + (high - low) * u;
}

void
nn_augment_draw (const NnAugmentParams *params,
                 guint64                seed,
                 NnAugmentTransform    *transform)
{
  NnRng rng;
  nn_rng_init (&rng, seed);

  nn_augment_transform_identity (transform);
  transform->rotation_deg = uniform_between (&rng, -params->rotation_deg,
                                             params->rotation_deg);
  float scale = uniform_between (&rng, params->scale_min, params->scale_max);
  float aspect = uniform_between (&rng, -params->aspect, params->aspect);
  if (aspect == 0.0f)
    {
      /* Keeps all-zero params exact: expf (0) * s is s, but better not to
       * rely on the libm for it. */
      transform->scale_x = transform->scale_y = scale;
    }
  else
    {
      transform->scale_x = scale * expf (aspect);
      transform->scale_y = scale * expf (-aspect);
    }
  transform->shear = uniform_between (&rng, -params->shear, params->shear);
  transform->translate_x = uniform_between (&rng, -params->translate_px,
                                            params->translate_px);
  transform->translate_y = uniform_between (&rng, -params->translate_px,
                                            params->translate_px);

  gboolean elastic = nn_rng_uniform (&rng) < params->elastic_probability;
  guint64 elastic_seed = nn_rng_next (&rng);
  if (elastic && params->elastic_alpha > 0.0f)
    {
      transform->elastic_alpha = params->elastic_alpha;
      transform->elastic_sigma = params->elastic_sigma;
      transform->elastic_seed = elastic_seed;
    }

  transform->stroke = uniform_between (&rng, params->stroke_min,
                                       params->stroke_max);
  transform->stroke_width_min = params->stroke_width_min;
  transform->stroke_width_max = params->stroke_width_max;

  /* Drawn last, so that the values above do not depend on them. */
  gboolean flag = nn_rng_uniform (&rng) < params->one_flag_probability;
  float flag_length = uniform_between (&rng, params->one_flag_length_min,
                                       params->one_flag_length_max);
  float flag_angle = uniform_between (&rng, params->one_flag_angle_min,
                                      params->one_flag_angle_max);
  gboolean bar = nn_rng_uniform (&rng) < params->seven_bar_probability;
  float bar_length = uniform_between (&rng, params->seven_bar_length_min,
                                      params->seven_bar_length_max);
  float bar_position = uniform_between (&rng, 0.45f, 0.6f);
  float bar_tilt = uniform_between (&rng, -8.0f, 8.0f);
  if (flag && flag_length > 0.0f)
    {
      transform->one_flag_length = flag_length;
      transform->one_flag_angle_deg = flag_angle;
    }
  if (bar && bar_length > 0.0f)
    {
      transform->seven_bar_length = bar_length;
      transform->seven_bar_position = bar_position;
      transform->seven_bar_tilt_deg = bar_tilt;
    }
}

/* ---- Digit styles ------------------------------------------------------- */

/* Where the ink of a @stride-wide 28x28 image lies: its first and last rows
 * with a pixel at least half inked. FALSE if there is none. */
static gboolean
ink_rows (const float *image, int stride, int *top, int *bottom)
{
  *top = -1;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      if (image[y * stride + x] >= 0.5f)
        {
          if (*top < 0)
            *top = y;
          *bottom = y;
          break;
        }
  return *top >= 0;
}

/* The ink-weighted mean column of rows [first, last]; FALSE if no ink. */
static gboolean
ink_column (const float *image, int stride, int first, int last, float *column)
{
  double ink = 0.0, sum = 0.0;
  for (int y = MAX (first, 0); y <= MIN (last, SIDE - 1); y++)
    for (int x = 0; x < SIDE; x++)
      {
        ink += image[y * stride + x];
        sum += (double) x * image[y * stride + x];
      }
  if (ink < 0.5)
    return FALSE;
  *column = (float) (sum / ink);
  return TRUE;
}

/* Adds a pen line of @width pixels from (x0, y0) to (x1, y1), round-capped
 * and anti-aliased over a pixel, where it is darker than the image. */
static void
draw_line (float *image, int stride, float x0, float y0, float x1, float y1, float width)
{
  float dx = x1 - x0, dy = y1 - y0;
  float length2 = dx * dx + dy * dy;
  float half = width * 0.5f;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float t = length2 > 0.0f ? ((x - x0) * dx + (y - y0) * dy) / length2 : 0.0f;
        t = CLAMP (t, 0.0f, 1.0f);
        float ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
        float ink = CLAMP (half + 0.5f - sqrtf (ex * ex + ey * ey), 0.0f, 1.0f);
        float *pixel = &image[y * stride + x];
        *pixel = MAX (*pixel, ink);
      }
}

static float estimate_stroke_width (const float *image, int stride);

#define FLAG_MIN_DROP (25.0f * (float) G_PI / 180.0f)

/* Draws the flag of a 1 and the bar of a 7 that @transform asks for, with
 * the digit's own stroke width. Images too small to tell where their top or
 * middle is are left alone. */
static void
add_digit_styles (const NnAugmentTransform *transform, float *image, int stride)
{
  int top, bottom;
  if (!ink_rows (image, stride, &top, &bottom) || bottom - top < 4)
    return;
  float height = bottom - top + 1;

  float width = CLAMP (estimate_stroke_width (image, stride), 1.5f, 4.0f);

  float column, foot;
  if (transform->one_flag_length > 0.0f
      && ink_column (image, stride, top, top + 1, &column)
      && ink_column (image, stride, bottom - 1, bottom, &foot))
    {
      /* From the top of the stroke, turned from the stem's downward
       * direction towards the left, so a slanted 1 gets its flag at the same
       * angle as an upright one. */
      float angle = transform->one_flag_angle_deg * (float) G_PI / 180.0f;
      float length = transform->one_flag_length * height;
      float dx = foot - column, dy = bottom - top;
      float norm = sqrtf (dx * dx + dy * dy);
      dx /= norm, dy /= norm;
      float fx = dx * cosf (angle) - dy * sinf (angle);
      float fy = dx * sinf (angle) + dy * cosf (angle);
      /* On a 1 slanted far to the right that would be a level bar: a 7.
       * Flags keep at least FLAG_MIN_DROP below the horizontal. */
      if (fy < sinf (FLAG_MIN_DROP))
        fx = -cosf (FLAG_MIN_DROP), fy = sinf (FLAG_MIN_DROP);
      float y0 = top + 0.5f * width - 0.5f;
      draw_line (image, stride, column, y0, column + length * fx, y0 + length * fy, width);
    }
  if (transform->seven_bar_length > 0.0f)
    {
      int row = top + (int) lroundf (transform->seven_bar_position * (height - 1));
      if (ink_column (image, stride, row, row, &column))
        {
          float angle = transform->seven_bar_tilt_deg * (float) G_PI / 180.0f;
          float half = 0.5f * transform->seven_bar_length * height;
          float ux = half * cosf (angle), uy = -half * sinf (angle);
          draw_line (image, stride, column - ux, row - uy, column + ux, row + uy, width);
        }
    }
}

/* ---- Elastic field ------------------------------------------------------ */

/* A displacement field (Simard et al. 2003): white noise smoothed by a
 * Gaussian of sigma pixels (zero beyond the image, as they do), scaled so
 * that each component's standard deviation is alpha pixels wherever the
 * whole kernel fits inside the image.
 *
 * A field smoothed that much has no detail finer than a few pixels, so it is
 * built on a coarser grid of nodes and interpolated: white noise on nodes
 * `step` pixels apart, smoothed by sigma / step nodes, has the same spectrum
 * as the pixel-grid field up to a frequency where the Gaussian has fallen
 * below 1e-4, and costs a fraction of it (the trainer runs this 30,000 times
 * an epoch). Steps are chosen so that bilinear interpolation between nodes
 * is within about 5% of the smooth field. */
typedef struct {
  int   step;    /* pixels between nodes */
  int   nodes;   /* per side; node i sits at pixel i * step */
  float x[ELASTIC_MAX_NODES][ELASTIC_MAX_NODES];
  float y[ELASTIC_MAX_NODES][ELASTIC_MAX_NODES];
} ElasticField;

static void
elastic_field_init (ElasticField *field, float alpha, float sigma, guint64 seed)
{
  int step = sigma >= 8.0f ? 4 : sigma >= 3.0f ? 2 : 1;
  int nodes = SIDE / step + 1;
  float node_sigma = sigma / step;
  field->step = step;
  field->nodes = nodes;

  float kernel[2 * ELASTIC_MAX_RADIUS + 1];
  int radius = 0;
  if (node_sigma > 0.0f && isfinite (node_sigma))
    {
      /* Compared as a float: a huge sigma would not fit in an int. */
      float reach = ceilf (3.0f * node_sigma);
      radius = reach < ELASTIC_MAX_RADIUS ? (int) reach : ELASTIC_MAX_RADIUS;
    }

  double kernel_sum = 0.0;
  for (int k = -radius; k <= radius; k++)
    {
      double g = radius > 0
                 ? exp (-0.5 * k * k / ((double) node_sigma * node_sigma)) : 1.0;
      kernel[k + radius] = (float) g;
      kernel_sum += g;
    }
  double square_sum = 0.0;
  for (int k = 0; k <= 2 * radius; k++)
    {
      kernel[k] = (float) (kernel[k] / kernel_sum);
      square_sum += (double) kernel[k] * kernel[k];
    }

  /* Noise is uniform in [-1, 1): standard deviation 1/sqrt(3). Smoothing by
   * the separable kernel g multiplies it by sum(g^2) (a square root of it
   * per axis). */
  float gain = (float) (alpha * sqrt (3.0) / square_sum);

  /* Rows of noise are padded left and right for the horizontal pass; its
   * result is padded top and bottom for the vertical one. */
  float noise[ELASTIC_MAX_NODES][ELASTIC_PADDED];
  float rows[ELASTIC_PADDED][ELASTIC_MAX_NODES];
  int width = nodes + 2 * radius;

  NnRng rng;
  nn_rng_init (&rng, seed);
  for (int f = 0; f < 2; f++)
    {
      for (int y = 0; y < nodes; y++)
        {
          memset (noise[y], 0, sizeof (float) * width);
          for (int x = 0; x < nodes; x += 2)
            {
              /* Two 24-bit draws from each 64-bit output. */
              guint64 bits = nn_rng_next (&rng);
              noise[y][radius + x] =
                (float) (bits >> 40) * (2.0f / 16777216.0f) - 1.0f;
              noise[y][radius + x + 1] =
                (float) ((bits >> 8) & 0xffffff) * (2.0f / 16777216.0f) - 1.0f;
            }
          /* An odd count of nodes leaves one draw in the padding: clear it. */
          noise[y][radius + nodes] = 0.0f;
        }

      memset (rows, 0, sizeof (rows[0]) * radius);
      memset (rows[radius + nodes], 0, sizeof (rows[0]) * radius);
      for (int y = 0; y < nodes; y++)
        {
          float *row = rows[radius + y];
          for (int x = 0; x < nodes; x++)
            row[x] = 0.0f;
          for (int k = 0; k <= 2 * radius; k++)
            {
              const float *in = noise[y] + k;
              float g = kernel[k];
              for (int x = 0; x < nodes; x++)
                row[x] += g * in[x];
            }
        }

      float (*out)[ELASTIC_MAX_NODES] = f == 0 ? field->x : field->y;
      for (int y = 0; y < nodes; y++)
        {
          float *line = out[y];
          for (int x = 0; x < nodes; x++)
            line[x] = 0.0f;
          for (int k = 0; k <= 2 * radius; k++)
            {
              const float *in = rows[y + k];
              float g = kernel[k] * gain;
              for (int x = 0; x < nodes; x++)
                line[x] += g * in[x];
            }
        }
    }
}

/* The field at every pixel moved by (@offset_x, @offset_y), added to @sx
 * and @sy: bilinear between nodes, held constant beyond the last ones. */
static void
elastic_field_add (const ElasticField *field, float offset_x, float offset_y,
                   float sx[PIXELS], float sy[PIXELS])
{
  /* The offset is the same for every pixel, so where each column and each
   * row falls between nodes is worked out once. */
  int node_x[SIDE], node_y[SIDE];
  float weight_x[SIDE], weight_y[SIDE];
  float last = (float) (field->nodes - 1) - 1e-3f;
  for (int i = 0; i < SIDE; i++)
    {
      float u = CLAMP ((i + offset_x) / field->step, 0.0f, last);
      float v = CLAMP ((i + offset_y) / field->step, 0.0f, last);
      node_x[i] = (int) u;
      node_y[i] = (int) v;
      weight_x[i] = u - node_x[i];
      weight_y[i] = v - node_y[i];
    }

  for (int f = 0; f < 2; f++)
    {
      const float (*nodes)[ELASTIC_MAX_NODES] = f == 0 ? field->x : field->y;
      float *out = f == 0 ? sx : sy;

      /* Along x on every row of nodes, then along y between whole rows. */
      float node_rows[ELASTIC_MAX_NODES][SIDE];
      for (int n = 0; n < field->nodes; n++)
        for (int x = 0; x < SIDE; x++)
          {
            const float *line = nodes[n] + node_x[x];
            node_rows[n][x] = line[0] + weight_x[x] * (line[1] - line[0]);
          }
      for (int y = 0; y < SIDE; y++)
        {
          const float *above = node_rows[node_y[y]];
          const float *below = node_rows[node_y[y] + 1];
          float w = weight_y[y];
          for (int x = 0; x < SIDE; x++)
            out[y * SIDE + x] += above[x] + w * (below[x] - above[x]);
        }
    }
}

/* ---- Resampling --------------------------------------------------------- */

/* The linear part of the forward map p' = centre + t + R * Shear * Scale *
 * (p - centre) into @forward, and its inverse into @m, so each output pixel
 * can look up where it comes from. FALSE when the map is singular or not
 * finite. */
static gboolean
inverse_affine (const NnAugmentTransform *t, float m[2][2], float forward[2][2])
{
  double angle = t->rotation_deg * (G_PI / 180.0);
  double c = cos (angle), s = sin (angle);
  /* Exact quarter turns stay exact, so integer grids map onto themselves. */
  if (fabs (c) < 1e-12)
    c = 0.0;
  if (fabs (s) < 1e-12)
    s = 0.0;

  /* Rotation anticlockwise on screen, with y pointing down. */
  double r[2][2] = { { c, s }, { -s, c } };
  double sh[2][2] = { { t->scale_x, t->shear * t->scale_y },
                      { 0.0, t->scale_y } };
  double a = r[0][0] * sh[0][0] + r[0][1] * sh[1][0];
  double b = r[0][0] * sh[0][1] + r[0][1] * sh[1][1];
  double cc = r[1][0] * sh[0][0] + r[1][1] * sh[1][0];
  double d = r[1][0] * sh[0][1] + r[1][1] * sh[1][1];

  double det = a * d - b * cc;
  if (!isfinite (det) || fabs (det) < 1e-6)
    return FALSE;

  forward[0][0] = (float) a;
  forward[0][1] = (float) b;
  forward[1][0] = (float) cc;
  forward[1][1] = (float) d;
  m[0][0] = (float) (d / det);
  m[0][1] = (float) (-b / det);
  m[1][0] = (float) (-cc / det);
  m[1][1] = (float) (a / det);
  return isfinite (m[0][0]) && isfinite (m[0][1])
      && isfinite (m[1][0]) && isfinite (m[1][1]);
}

/* Byte to [0, 1] by division, as nn_dataset_get_image does, folded into a
 * table at compile time. */
#define BYTE1(i)  ((i) / 255.0f)
#define BYTE4(i)  BYTE1 (i), BYTE1 (i + 1), BYTE1 (i + 2), BYTE1 (i + 3)
#define BYTE16(i) BYTE4 (i), BYTE4 (i + 4), BYTE4 (i + 8), BYTE4 (i + 12)
#define BYTE64(i) BYTE16 (i), BYTE16 (i + 16), BYTE16 (i + 32), BYTE16 (i + 48)
static const float byte_to_float[256] = {
  BYTE64 (0), BYTE64 (64), BYTE64 (128), BYTE64 (192),
};

/* The source is padded with one zero pixel left and top and two right and
 * bottom. Coordinates clamped to [-1, SIDE] then land on a zero pixel with
 * weight 1 (or blend towards one within a pixel of the image), so the
 * lookup needs no branch. */
#define SOURCE_SIDE (SIDE + 3)

static void
resample (const float source[SOURCE_SIDE][SOURCE_SIDE],
          const float sx[PIXELS], const float sy[PIXELS], float out[PIXELS])
{
  /* Three simple loops rather than one: the last vectorises, the middle
   * one is left with nothing but the lookups. */
  int offset[PIXELS];
  float wx[PIXELS], wy[PIXELS];
  for (int i = 0; i < PIXELS; i++)
    {
      /* Written so that NaN turns into -1 as well. */
      float x = sx[i] > -1.0f ? sx[i] : -1.0f;
      float y = sy[i] > -1.0f ? sy[i] : -1.0f;
      x = x < SIDE ? x : SIDE;
      y = y < SIDE ? y : SIDE;
      /* In the padded frame the coordinates are positive, so truncation is
       * floor (floorf is a library call on baseline x86-64). */
      x += 1.0f;
      y += 1.0f;
      int x0 = (int) x, y0 = (int) y;
      wx[i] = x - x0;
      wy[i] = y - y0;
      offset[i] = y0 * SOURCE_SIDE + x0;
    }

  const float *base = &source[0][0];
  for (int i = 0; i < PIXELS; i++)
    {
      const float *above = base + offset[i], *below = above + SOURCE_SIDE;
      float top = above[0] + wx[i] * (above[1] - above[0]);
      float bottom = below[0] + wx[i] * (below[1] - below[0]);
      out[i] = top + wy[i] * (bottom - top);
    }

  /* Rounding can step a hair outside the range of the inputs. */
  for (int i = 0; i < PIXELS; i++)
    {
      float v = out[i] > 0.0f ? out[i] : 0.0f;
      out[i] = v < 1.0f ? v : 1.0f;
    }
}

/* ---- Stroke width ------------------------------------------------------- */

/* Grey levels read as signed distances to the stroke's edge: MNIST's and the
 * rasterizer's edges ramp from 0 to 1 over about one pixel, so a pixel of
 * value v lies about v - 0.5 pixels inside the edge. Moving the edge by r
 * pixels is then a max-plus (dilation) or min-plus (erosion) filter with the
 * distance cone as structuring element, plus r. Saturated pixels only say
 * "at least half a pixel inside" (and empty ones "at least half a pixel
 * outside"), so near 1 (or 0) the distance estimate ramps steeply to a
 * bound that no cone term can beat. */
#define SATURATION_BAND 0.08f
#define SATURATION_SPAN 5.0f

static inline float
inner_distance (float v)   /* for erosion: an upper bound */
{
  float excess = v - (1.0f - SATURATION_BAND);
  return v - 0.5f + (excess > 0.0f ? excess * (SATURATION_SPAN / SATURATION_BAND) : 0.0f);
}

static inline float
outer_distance (float v)   /* for dilation: a lower bound */
{
  float deficit = SATURATION_BAND - v;
  return v - 0.5f - (deficit > 0.0f ? deficit * (SATURATION_SPAN / SATURATION_BAND) : 0.0f);
}

/* The mean stroke width of @image: a stroke of width w and length L has
 * area w * L and an outline 2 * L long, so w = 2 * area / outline. The
 * outline is the total variation (sum of gradient lengths) over the ink's
 * peak, which counts anti-aliased edges correctly and sees a faint stroke
 * (a thin one, smeared over two pixels) as the narrower one it stands for.
 * 0 for an empty image. Rows are @stride floats apart. */
static float
estimate_stroke_width (const float *image, int stride)
{
  float area = 0.0f, variation = 0.0f, peak = 0.0f;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float v = image[y * stride + x];
        float gx = v - (x > 0 ? image[y * stride + x - 1] : 0.0f);
        float gy = v - (y > 0 ? image[(y - 1) * stride + x] : 0.0f);
        area += v;
        variation += sqrtf (gx * gx + gy * gy);
        peak = MAX (peak, v);
      }
  return variation > 0.0f ? 2.0f * area * peak / variation : 0.0f;
}

/* Changes the width of every stroke of @image (in place) by @width pixels:
 * each edge moves by half of it. Never adds ink when thinning nor removes
 * ink when thickening, so a width of 0 changes nothing. */
static void
change_stroke_width (float image[PIXELS], float width)
{
  float radius = fabsf (CLAMP (width, -STROKE_LIMIT, STROKE_LIMIT)) * 0.5f;
  gboolean thicken = width > 0.0f;
  /* Pixels farther than 1 + radius cannot beat the pixel's own term. */
  float reach = 1.0f + radius;

  /* Distances, padded with what lies outside the image: background. */
  float padded[MORPH_SIDE][MORPH_SIDE];
  float outside = thicken ? outer_distance (0.0f) : inner_distance (0.0f);
  for (int y = 0; y < MORPH_SIDE; y++)
    for (int x = 0; x < MORPH_SIDE; x++)
      padded[y][x] = outside;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float v = image[y * SIDE + x];
        padded[y + MORPH_PAD][x + MORPH_PAD] =
          thicken ? outer_distance (v) : inner_distance (v);
      }

  /* One pass per offset over whole rows, so the compiler can vectorise. */
  float best[SIDE][SIDE];
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      best[y][x] = thicken ? -G_MAXFLOAT : G_MAXFLOAT;
  for (int oy = -MORPH_PAD; oy <= MORPH_PAD; oy++)
    for (int ox = -MORPH_PAD; ox <= MORPH_PAD; ox++)
      {
        float cone = sqrtf ((float) (ox * ox + oy * oy));
        if (cone >= reach)
          continue;
        for (int y = 0; y < SIDE; y++)
          {
            const float *in = padded[y + MORPH_PAD + oy] + MORPH_PAD + ox;
            float *line = best[y];
            if (thicken)
              for (int x = 0; x < SIDE; x++)
                {
                  float term = in[x] - cone;
                  line[x] = term > line[x] ? term : line[x];
                }
            else
              for (int x = 0; x < SIDE; x++)
                {
                  float term = in[x] + cone;
                  line[x] = term < line[x] ? term : line[x];
                }
          }
      }

  float shift = thicken ? 0.5f + radius : 0.5f - radius;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float v = image[y * SIDE + x];
        float moved = best[y][x] + shift;
        moved = thicken ? MAX (v, moved) : MIN (v, moved);
        image[y * SIDE + x] = CLAMP (moved, 0.0f, 1.0f);
      }
}

/* ---- Putting it together ------------------------------------------------ */

/* Of a 28x28 image whose rows are @stride floats apart. FALSE if empty. */
static gboolean
centre_of_mass (const float *image, int stride, double *x, double *y)
{
  double ink = 0.0, sum_x = 0.0, sum_y = 0.0;
  for (int row = 0; row < SIDE; row++)
    {
      float ink_row = 0.0f, moment_row = 0.0f;
      for (int column = 0; column < SIDE; column++)
        {
          float v = image[row * stride + column];
          ink_row += v;
          moment_row += v * column;
        }
      ink += ink_row;
      sum_x += moment_row;
      sum_y += (double) ink_row * row;
    }
  if (!(ink > 1e-3))
    return FALSE;
  *x = sum_x / ink;
  *y = sum_y / ink;
  return TRUE;
}

/* Where each output pixel comes from: the inverse affine map, with the
 * output moved by @shift_x, @shift_y pixels on top of the translation. */
static void
affine_sources (const float inverse[2][2], float tx, float ty,
                float sx[PIXELS], float sy[PIXELS])
{
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      {
        float rx = x - tx, ry = y - ty;
        sx[y * SIDE + x] = CENTRE + (inverse[0][0] * rx + inverse[0][1] * ry);
        sy[y * SIDE + x] = CENTRE + (inverse[1][0] * rx + inverse[1][1] * ry);
      }
}

void
nn_augment_image_with (const NnAugmentTransform *transform,
                       const guint8             *in,
                       float                    *out)
{
  float inverse[2][2], forward[2][2];
  if (!inverse_affine (transform, inverse, forward))
    {
      /* A degenerate map squeezes the digit to nothing. */
      memset (out, 0, sizeof (float) * PIXELS);
      return;
    }

  float source[SOURCE_SIDE][SOURCE_SIDE];
  memset (source, 0, sizeof source);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      source[y + 1][x + 1] = byte_to_float[in[y * SIDE + x]];
  if (transform->one_flag_length > 0.0f || transform->seven_bar_length > 0.0f)
    add_digit_styles (transform, &source[1][1], SOURCE_SIDE);

  float sx[PIXELS], sy[PIXELS];
  float tx = CENTRE + transform->translate_x;
  float ty = CENTRE + transform->translate_y;
  affine_sources (inverse, tx, ty, sx, sy);

  if (transform->elastic_alpha != 0.0f && isfinite (transform->elastic_alpha))
    {
      ElasticField field;
      elastic_field_init (&field, transform->elastic_alpha,
                          transform->elastic_sigma, transform->elastic_seed);
      elastic_field_add (&field, 0.0f, 0.0f, sx, sy);

      /* Where the field stretches the digit it gains ink, where it squeezes
       * it loses some: the centre of mass drifts by a pixel or more, on top
       * of the translation. Digits come centred on their centre of mass
       * (MNIST's and the app's preprocessing alike), so put it back where
       * the affine map alone sends it (an affine map carries the centre of
       * mass along) and leave moving digits to the translation, whose range
       * is explicit. The whole warped image moves, field included. */
      double source_x, source_y, warped_x, warped_y;
      resample ((const float (*)[SOURCE_SIDE]) source, sx, sy, out);
      if (centre_of_mass (&source[1][1], SOURCE_SIDE, &source_x, &source_y)
          && centre_of_mass (out, SIDE, &warped_x, &warped_y))
        {
          float ux = (float) source_x - CENTRE, uy = (float) source_y - CENTRE;
          float shift_x = tx + forward[0][0] * ux + forward[0][1] * uy - (float) warped_x;
          float shift_y = ty + forward[1][0] * ux + forward[1][1] * uy - (float) warped_y;
          if (isfinite (shift_x) && isfinite (shift_y)
              && fabsf (shift_x) < SIDE && fabsf (shift_y) < SIDE)
            {
              affine_sources (inverse, tx + shift_x, ty + shift_y, sx, sy);
              elastic_field_add (&field, -shift_x, -shift_y, sx, sy);
            }
        }
    }

  resample ((const float (*)[SOURCE_SIDE]) source, sx, sy, out);

  float stroke = transform->stroke;
  if (stroke != 0.0f && isfinite (stroke)
      && (transform->stroke_width_min > 0.0f || transform->stroke_width_max > 0.0f))
    {
      /* Thin digits are only made thinner down to the floor, thick ones
       * thicker up to the ceiling: beyond, strokes break up or holes close.
       * A digit already past a limit is left as it is, not pulled back. */
      float width = estimate_stroke_width (out, SIDE);
      if (stroke < 0.0f && transform->stroke_width_min > 0.0f)
        stroke = MAX (stroke, MIN (0.0f, transform->stroke_width_min - width));
      if (stroke > 0.0f && transform->stroke_width_max > 0.0f)
        stroke = MIN (stroke, MAX (0.0f, transform->stroke_width_max - width));
    }
  if (stroke != 0.0f && isfinite (stroke))
    change_stroke_width (out, stroke);
}

void
nn_augment_image (const NnAugmentParams *params,
                  guint64                seed,
                  const guint8          *in,
                  float                 *out)
{
  nn_augment_digit (params, seed, G_MAXUINT, in, out);
}

void
nn_augment_digit (const NnAugmentParams *params,
                  guint64                seed,
                  guint                  label,
                  const guint8          *in,
                  float                 *out)
{
  NnAugmentTransform transform;
  nn_augment_draw (params, seed, &transform);
  if (label != 1)
    transform.one_flag_length = 0.0f;
  if (label != 7)
    transform.seven_bar_length = 0.0f;
  nn_augment_image_with (&transform, in, out);
}
