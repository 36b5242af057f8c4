/* test-gradcheck.c — every backward pass against central finite
 * differences.
 *
 * Each case turns a layer's output into a scalar, L = sum_i r_i out_i with
 * fixed random weights r, evaluated in double. Its gradient with respect to
 * every input and every parameter comes from the layer's backward pass (fed
 * dout = r) and from (L(v + e) - L(v - e)) / 2e, perturbing the float value
 * v itself. Shapes are odd on purpose (7x7 and 5x5 maps, kernels 1, 3 and 5,
 * 3 and 5 channels, batches of 1 and 3); inputs of ReLU and max-pooling keep
 * clear of their kinks by more than e.
 *
 * Tolerance, per tensor:
 *   max_j |a_j - n_j| / max(max_j |a_j|, max_j |n_j|, 1e-3) <= 1e-2
 * The achieved errors are printed with g_test_message.
 */
#include "test-util.h"

#include <math.h>

#define TOLERANCE 1e-2

static double worst_error;   /* over the whole run, for the summary */

typedef struct {
  NnLayer  layer;
  guint    batch;
  float   *x, *dx;           /* input and its gradient */
  float   *w, *dw;           /* weight or gamma */
  float   *b, *db;           /* bias or beta */
  float   *r;                /* loss weights, the shape of the output */
  float   *out;
  float   *scratch, *partials;
  float   *running_mean, *running_var, *mean, *invstd, *mask;
  gint32  *argmax;
} Case;

static gsize
in_total (const Case *c)
{
  return c->batch * nn_layer_in_size (&c->layer);
}

static gsize
out_total (const Case *c)
{
  return c->batch * nn_layer_out_size (&c->layer);
}

static Case *
case_new (NnLayer layer, guint batch, guint64 seed)
{
  Case *c = g_new0 (Case, 1);
  gsize n_in, n_out, n_w = nn_layer_weight_size (&layer);
  NnRng rng;

  c->layer = layer;
  c->batch = batch;
  n_in = in_total (c);
  n_out = out_total (c);
  nn_rng_init (&rng, seed);

  c->x = g_new (float, n_in);
  c->dx = g_new (float, n_in);
  c->w = g_new (float, MAX (n_w, 1));
  c->dw = g_new0 (float, MAX (n_w, 1));
  c->b = g_new (float, MAX (layer.units, layer.in_c));
  c->db = g_new0 (float, MAX (layer.units, layer.in_c));
  c->r = g_new (float, n_out);
  c->out = g_new (float, n_out);
  c->scratch = g_new (float, (layer.kind == NN_LAYER_CONV ? nn_conv_scratch_size (&layer) : 1)
                             * nn_get_threads ());
  c->partials = g_new (float, (layer.kind == NN_LAYER_CONV ? nn_conv_partials_size (&layer) : 1)
                              * nn_chunk_count (batch));
  c->running_mean = g_new0 (float, layer.in_c);
  c->running_var = g_new0 (float, layer.in_c);
  c->mean = g_new (float, layer.in_c);
  c->invstd = g_new (float, layer.in_c);
  c->mask = g_new (float, n_out);
  c->argmax = g_new (gint32, n_out);

  test_fill_uniform (&rng, c->x, n_in, -1, 1);
  test_fill_uniform (&rng, c->w, MAX (n_w, 1), -1, 1);
  test_fill_uniform (&rng, c->b, MAX (layer.units, layer.in_c), -1, 1);
  test_fill_uniform (&rng, c->r, n_out, -1, 1);
  return c;
}

static void
case_free (Case *c)
{
  g_free (c->x); g_free (c->dx); g_free (c->w); g_free (c->dw); g_free (c->b); g_free (c->db);
  g_free (c->r); g_free (c->out); g_free (c->scratch); g_free (c->partials);
  g_free (c->running_mean); g_free (c->running_var); g_free (c->mean); g_free (c->invstd);
  g_free (c->mask); g_free (c->argmax);
  g_free (c);
}

static void
case_forward (Case *c)
{
  const NnLayer *l = &c->layer;

  switch (l->kind)
    {
    case NN_LAYER_CONV:
      nn_conv_forward (l, c->batch, c->x, c->w, c->b, c->out, c->scratch, nn_get_threads ());
      break;
    case NN_LAYER_MAXPOOL:
      nn_maxpool_forward (l, c->batch, c->x, c->out, c->argmax);
      break;
    case NN_LAYER_DENSE:
      nn_dense_forward (l, c->batch, c->x, c->w, c->b, c->out);
      break;
    case NN_LAYER_RELU:
      nn_relu_forward (in_total (c), c->x, c->out);
      break;
    case NN_LAYER_DROPOUT:
      nn_dropout_forward (nn_layer_in_size (l), c->batch, l->rate, 99, c->x, c->out, c->mask);
      break;
    case NN_LAYER_BATCHNORM:
      nn_batchnorm_forward_train (l, c->batch, c->x, c->w, c->b, c->running_mean,
                                  c->running_var, c->out, c->mean, c->invstd);
      break;
    }
}

static double
case_loss (Case *c)
{
  double loss = 0;

  case_forward (c);
  for (gsize i = 0; i < out_total (c); i++)
    loss += (double) c->r[i] * c->out[i];
  return loss;
}

static void
case_backward (Case *c)
{
  const NnLayer *l = &c->layer;

  case_forward (c);
  memset (c->dw, 0, MAX (nn_layer_weight_size (l), 1) * sizeof (float));
  memset (c->db, 0, MAX (l->units, l->in_c) * sizeof (float));
  switch (l->kind)
    {
    case NN_LAYER_CONV:
      nn_conv_backward (l, c->batch, c->x, c->r, c->w, c->dw, c->db, c->dx,
                        c->scratch, nn_get_threads (), c->partials);
      break;
    case NN_LAYER_MAXPOOL:
      nn_maxpool_backward (l, c->batch, c->r, c->argmax, c->dx);
      break;
    case NN_LAYER_DENSE:
      nn_dense_backward (l, c->batch, c->x, c->r, c->w, c->dw, c->db, c->dx);
      break;
    case NN_LAYER_RELU:
      nn_relu_backward (in_total (c), c->out, c->r, c->dx);
      break;
    case NN_LAYER_DROPOUT:
      nn_dropout_backward (in_total (c), c->mask, c->r, c->dx);
      break;
    case NN_LAYER_BATCHNORM:
      nn_batchnorm_backward (l, c->batch, c->x, c->r, c->w, c->mean, c->invstd,
                             c->dw, c->db, c->dx);
      break;
    }
}

typedef double (*LossFunc) (gpointer data);
/* Which linear piece the last loss evaluation was on (ReLU signs, pooling
 * winners), for functions with kinks; NULL when there are none to cross. */
typedef guint64 (*PieceFunc) (gpointer data);

/* Compares @analytic with central differences of @loss over @values.
 * Differences that straddle a kink measure nothing and are left out (and
 * counted); the layer cases keep their inputs clear of kinks instead. */
static double
compare_pieces (const char *what, float *values, const float *analytic, gsize n,
                double eps, LossFunc loss, PieceFunc piece, gpointer data)
{
  double max_diff = 0, max_a = 0, max_n = 0, error;
  guint64 base_piece = 0;
  gsize skipped = 0;

  if (piece != NULL)
    {
      loss (data);
      base_piece = piece (data);
    }
  for (gsize j = 0; j < n; j++)
    {
      float saved = values[j];
      double plus, minus, numeric;
      gboolean crossed = FALSE;

      values[j] = (float) (saved + eps);
      plus = loss (data);
      crossed |= piece != NULL && piece (data) != base_piece;
      values[j] = (float) (saved - eps);
      minus = loss (data);
      crossed |= piece != NULL && piece (data) != base_piece;
      values[j] = saved;
      max_a = MAX (max_a, fabs (analytic[j]));
      if (crossed)
        {
          skipped++;
          continue;
        }
      /* The perturbation actually applied, after rounding to float. */
      numeric = (plus - minus) / ((double) (float) (saved + eps) - (double) (float) (saved - eps));

      max_diff = MAX (max_diff, fabs (analytic[j] - numeric));
      max_n = MAX (max_n, fabs (numeric));
    }
  error = max_diff / MAX (MAX (max_a, max_n), 1e-3);
  g_test_message ("%-40s %6" G_GSIZE_FORMAT " values  max |grad| %9.3g  relative error %.2e%s",
                  what, n, max_a, error,
                  skipped ? g_strdup_printf ("  (%" G_GSIZE_FORMAT " across a kink, left out)",
                                             skipped) : "");
  worst_error = MAX (worst_error, error);
  g_assert_cmpfloat (error, <=, TOLERANCE);
  g_assert_cmpfloat (max_a, >, 0);   /* a zero gradient would pass vacuously */
  g_assert_cmpuint (skipped, <=, n / 2);
  return error;
}

static double
compare (const char *what, float *values, const float *analytic, gsize n,
         double eps, LossFunc loss, gpointer data)
{
  return compare_pieces (what, values, analytic, n, eps, loss, NULL, data);
}

static double
case_loss_func (gpointer data)
{
  return case_loss (data);
}

static void
check_case (Case *c, const char *name, double eps)
{
  g_autofree char *x_name = g_strdup_printf ("%s: input", name);
  g_autofree char *w_name = g_strdup_printf ("%s: weight", name);
  g_autofree char *b_name = g_strdup_printf ("%s: bias", name);
  gsize n_w = nn_layer_weight_size (&c->layer);
  gsize n_b = c->layer.kind == NN_LAYER_BATCHNORM ? c->layer.in_c : c->layer.units;
  g_autofree float *dx = NULL, *dw = NULL, *db = NULL;

  case_backward (c);
  dx = g_memdup2 (c->dx, in_total (c) * sizeof (float));
  dw = g_memdup2 (c->dw, MAX (n_w, 1) * sizeof (float));
  db = g_memdup2 (c->db, MAX (n_b, 1) * sizeof (float));

  compare (x_name, c->x, dx, in_total (c), eps, case_loss_func, c);
  if (n_w > 0)
    {
      compare (w_name, c->w, dw, n_w, eps, case_loss_func, c);
      compare (b_name, c->b, db, n_b, eps, case_loss_func, c);
    }
}

/* Moves values within @margin of 0 out to +-@margin. */
static void
clear_of_zero (float *values, gsize n, float margin)
{
  for (gsize i = 0; i < n; i++)
    if (fabsf (values[i]) < margin)
      values[i] = values[i] < 0 ? -margin : margin;
}

static void
test_conv (void)
{
  static const struct { guint c, h, w, k; gboolean valid; guint units, batch; } shapes[] = {
    { 1, 7, 7, 3, FALSE, 5, 1 },
    { 3, 7, 7, 3, FALSE, 5, 3 },
    { 3, 5, 5, 5, FALSE, 3, 3 },
    { 3, 7, 5, 5, TRUE, 4, 3 },
    { 5, 5, 5, 1, FALSE, 3, 3 },
    { 2, 7, 7, 3, TRUE, 3, 1 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      NnLayer layer = test_layer (NN_LAYER_CONV, shapes[s].c, shapes[s].h, shapes[s].w,
                                  shapes[s].k, shapes[s].valid, shapes[s].units);
      Case *c = case_new (layer, shapes[s].batch, 100 + s);
      g_autofree char *name = g_strdup_printf ("conv%ux%u:%u%s on %ux%ux%u, batch %u",
                                               shapes[s].k, shapes[s].k, shapes[s].units,
                                               shapes[s].valid ? ":valid" : "", shapes[s].c,
                                               shapes[s].h, shapes[s].w, shapes[s].batch);

      /* Linear in each argument: a large step costs no accuracy. */
      check_case (c, name, 1e-2);
      case_free (c);
    }
}

static void
test_dense (void)
{
  static const struct { guint c, h, w, units, batch; } shapes[] = {
    { 7, 1, 1, 5, 1 }, { 3, 5, 5, 4, 3 }, { 1, 7, 7, 11, 3 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      NnLayer layer = test_layer (NN_LAYER_DENSE, shapes[s].c, shapes[s].h, shapes[s].w,
                                  0, FALSE, shapes[s].units);
      Case *c = case_new (layer, shapes[s].batch, 200 + s);
      g_autofree char *name = g_strdup_printf ("dense:%u on %ux%ux%u, batch %u", shapes[s].units,
                                               shapes[s].c, shapes[s].h, shapes[s].w,
                                               shapes[s].batch);

      check_case (c, name, 1e-2);
      case_free (c);
    }
}

static void
test_maxpool (void)
{
  static const struct { guint c, h, w, batch; } shapes[] = {
    { 3, 7, 7, 3 }, { 1, 5, 5, 1 }, { 5, 4, 6, 3 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      NnLayer layer = test_layer (NN_LAYER_MAXPOOL, shapes[s].c, shapes[s].h, shapes[s].w,
                                  0, FALSE, 0);
      Case *c = case_new (layer, shapes[s].batch, 300 + s);
      g_autofree char *name = g_strdup_printf ("maxpool on %ux%ux%u, batch %u", shapes[s].c,
                                               shapes[s].h, shapes[s].w, shapes[s].batch);
      gsize n = in_total (c);
      g_autofree guint32 *order = g_new (guint32, n);
      NnRng rng;

      /* Distinct values 0.05 apart: no window has a near tie. */
      for (gsize i = 0; i < n; i++)
        order[i] = i;
      nn_rng_init (&rng, s);
      nn_rng_shuffle (&rng, order, n);
      for (gsize i = 0; i < n; i++)
        c->x[i] = 0.05f * order[i] - 1.0f;
      check_case (c, name, 1e-2);
      case_free (c);
    }
}

static void
test_relu (void)
{
  NnLayer layer = test_layer (NN_LAYER_RELU, 3, 5, 5, 0, FALSE, 0);
  Case *c = case_new (layer, 3, 400);

  clear_of_zero (c->x, in_total (c), 0.05f);
  check_case (c, "relu on 3x5x5, batch 3", 1e-2);
  case_free (c);
}

static void
test_dropout (void)
{
  NnLayer layer = test_layer (NN_LAYER_DROPOUT, 3, 5, 5, 0, FALSE, 0);
  Case *c;

  layer.rate = 0.4f;
  c = case_new (layer, 3, 500);
  check_case (c, "dropout:0.4 on 3x5x5, batch 3", 1e-2);
  case_free (c);
}

static void
test_batchnorm (void)
{
  static const struct { guint c, h, w, batch; } shapes[] = {
    { 3, 5, 5, 3 },   /* per channel, after a convolution */
    { 3, 7, 7, 1 },
    { 7, 1, 1, 4 },   /* per feature, after a dense layer */
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      NnLayer layer = test_layer (NN_LAYER_BATCHNORM, shapes[s].c, shapes[s].h, shapes[s].w,
                                  0, FALSE, 0);
      Case *c = case_new (layer, shapes[s].batch, 600 + s);
      g_autofree char *name = g_strdup_printf ("batchnorm on %ux%ux%u, batch %u", shapes[s].c,
                                               shapes[s].h, shapes[s].w, shapes[s].batch);

      /* Curved: a small step keeps the truncation error down. */
      check_case (c, name, 1e-3);
      case_free (c);
    }
}

typedef struct {
  guint   batch;
  float  *logits;
  guint8 *labels;
  float   smoothing;
} LossCase;

static double
cross_entropy_loss (gpointer data)
{
  LossCase *lc = data;

  return nn_softmax_cross_entropy (lc->batch, lc->logits, lc->labels, lc->smoothing, NULL, NULL);
}

static void
test_cross_entropy (void)
{
  for (guint s = 0; s < 2; s++)
    {
      guint8 labels[3] = { 4, 0, 9 };
      float logits[3 * NN_CLASSES], dlogits[3 * NN_CLASSES];
      LossCase lc = { 3, logits, labels, s == 0 ? 0.0f : 0.1f };
      NnRng rng;

      nn_rng_init (&rng, 700 + s);
      test_fill_uniform (&rng, logits, 3 * NN_CLASSES, -3, 3);
      nn_softmax_cross_entropy (3, logits, labels, lc.smoothing, dlogits, NULL);
      compare (s == 0 ? "softmax + cross-entropy, batch 3"
                      : "softmax + cross-entropy, smoothing 0.1",
               logits, dlogits, 3 * NN_CLASSES, 1e-3, cross_entropy_loss, &lc);
    }
}

/* ---- A whole model ----------------------------------------------------- */

typedef struct {
  NnModel     *model;
  NnWorkspace *ws;
  guint8       labels[3];
  float        images[3 * NN_IMAGE_PIXELS];
} ModelCase;

static double
model_loss (gpointer data)
{
  ModelCase *mc = data;
  const float *logits;

  memcpy (mc->ws->input, mc->images, sizeof mc->images);
  logits = nn_model_forward (mc->model, mc->ws, 3, TRUE, 5);
  return nn_softmax_cross_entropy (3, logits, mc->labels, 0.0f, NULL, NULL);
}

/* A hash of every ReLU's on/off pattern and every pooling winner. A
 * staged convolution's ReLU keeps no output: its pattern where it matters,
 * at the winners, is the pooled values' signs. */
static guint64
model_piece (gpointer data)
{
  ModelCase *mc = data;
  guint64 hash = 0xcbf29ce484222325ull;

  for (guint i = 0; i < mc->model->n_layers; i++)
    {
      const NnLayer *layer = &mc->model->layers[i];
      gsize n = 3 * nn_layer_out_size (layer);

      for (gsize j = 0; j < n; j++)
        {
          guint64 v;

          if (layer->kind == NN_LAYER_RELU && mc->ws->out[i] != NULL)
            v = mc->ws->out[i][j] > 0;
          else if (layer->kind == NN_LAYER_MAXPOOL)
            v = (guint64) mc->ws->argmax[i][j] * 2 + (mc->ws->out[i][j] > 0);
          else
            break;
          hash = (hash ^ v) * 0x100000001b3ull;
        }
    }
  return hash;
}

static gboolean
before_batchnorm (const NnModel *model, gsize param_offset)
{
  for (guint i = 0; i + 1 < model->n_layers; i++)
    if (model->layers[i].n_params > 0
        && param_offset >= model->layers[i].param_offset
        && param_offset < model->layers[i].param_offset + model->layers[i].n_params)
      return model->layers[i + 1].kind == NN_LAYER_BATCHNORM;
  return FALSE;
}

/* Every parameter of a model, through the real forward and backward
 * passes, mean loss over a batch of 3. */
static void
check_model (const char *spec)
{
  ModelCase mc = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree float *grads = NULL;
  const float *logits;
  float dlogits[3 * NN_CLASSES];
  NnRng rng;

  mc.model = nn_model_new (spec, 11, &error);
  g_assert_no_error (error);
  mc.ws = nn_workspace_new (mc.model, 3, TRUE);
  nn_rng_init (&rng, 12);
  test_fill_uniform (&rng, mc.images, 3 * NN_IMAGE_PIXELS, 0, 1);
  mc.labels[0] = 1;
  mc.labels[1] = 7;
  mc.labels[2] = 3;

  grads = g_new0 (float, mc.model->n_params);
  memcpy (mc.ws->input, mc.images, sizeof mc.images);
  logits = nn_model_forward (mc.model, mc.ws, 3, TRUE, 5);
  nn_softmax_cross_entropy (3, logits, mc.labels, 0.0f, dlogits, NULL);
  nn_model_backward (mc.model, mc.ws, 3, dlogits, grads);

  for (guint t = 0; t < mc.model->n_tensors; t++)
    {
      const NnTensorInfo *info = &mc.model->tensors[t];
      g_autofree char *name = NULL;

      if (!info->trainable)
        continue;
      name = g_strdup_printf ("model %s", info->name);
      if (g_str_has_suffix (info->name, ".bias") && before_batchnorm (mc.model, info->offset))
        {
          /* Batchnorm subtracts the mean, so a bias just before it has no
           * effect at all: its gradient is zero and differences are noise. */
          for (gsize j = 0; j < info->n_elements; j++)
            g_assert_cmpfloat (fabsf (grads[info->offset + j]), <, 1e-5);
          g_test_message ("%-40s gradient zero, as it must be before batchnorm", name);
          continue;
        }
      compare_pieces (name, mc.model->params + info->offset, grads + info->offset,
                      info->n_elements, 2e-4, model_loss, model_piece, &mc);
    }
  nn_workspace_free (mc.ws);
  nn_model_free (mc.model);
}

/* One that chains all the layer kinds. */
static void
test_model (void)
{
  check_model ("conv3x3:3 batchnorm relu maxpool conv5x5:4:valid relu dropout:0.2 "
               "maxpool dense:6 batchnorm relu dense:10");
}

/* Convolutions followed by a ReLU and a pooling, as in bench-cnn and
 * lenet5: each is staged (nn-forward.c), the first computed planar and the
 * second channels last, and the gradient from the second to the first
 * passes through the threads' one-image buffers. Then a run that mixes
 * staged and unstaged convolutions, a ReLU whose mask is kept and a
 * dropout between them. */
static void
test_model_staged (void)
{
  check_model ("conv3x3:4 relu maxpool conv3x3:5 relu maxpool dense:10");
  check_model ("conv3x3:2 relu conv3x3:4 relu maxpool dropout:0.1 conv3x3:5 relu maxpool "
               "dense:10");
}

static void
test_summary (void)
{
  g_test_message ("worst relative error over all gradient checks: %.2e (tolerance %.0e)",
                  worst_error, TOLERANCE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gradcheck/conv", test_conv);
  g_test_add_func ("/gradcheck/dense", test_dense);
  g_test_add_func ("/gradcheck/maxpool", test_maxpool);
  g_test_add_func ("/gradcheck/relu", test_relu);
  g_test_add_func ("/gradcheck/dropout", test_dropout);
  g_test_add_func ("/gradcheck/batchnorm", test_batchnorm);
  g_test_add_func ("/gradcheck/cross-entropy", test_cross_entropy);
  g_test_add_func ("/gradcheck/model", test_model);
  g_test_add_func ("/gradcheck/model-staged", test_model_staged);
  g_test_add_func ("/gradcheck/summary", test_summary);

  test_trap_fp_exceptions ();
  return g_test_run ();
}
