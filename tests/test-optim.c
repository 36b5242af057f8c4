/* test-optim.c — optimisers and learning-rate schedules against values
 * worked out by hand (PyTorch's update rules), and the training settings'
 * validation and names.
 */
#include "test-util.h"

#include <math.h>

/* A one-layer model whose every weight starts at 1 and every bias at 1,
 * with every gradient @g. */
static NnModel *
model_of_ones (void)
{
  g_autoptr (GError) error = NULL;
  NnModel *model = nn_model_new ("dense:10", 1, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < model->n_params; i++)
    model->params[i] = 1.0f;
  return model;
}

static void
fill (float *values, gsize n, float value)
{
  for (gsize i = 0; i < n; i++)
    values[i] = value;
}

/* lr 0.1, momentum 0.9, gradient 0.5 twice (PyTorch: buf = 0.9 buf + g,
 * p -= lr buf; the buffer starts at the first gradient):
 *   step 1: buf = 0.5,              p = 1 - 0.05 = 0.95
 *   step 2: buf = 0.45 + 0.5 = 0.95, p = 0.95 - 0.095 = 0.855 */
static void
test_sgd_momentum (void)
{
  g_autoptr (NnModel) model = model_of_ones ();
  g_autofree float *grads = g_new (float, model->n_params);
  g_autofree float *m = g_new0 (float, model->n_params);
  NnTrainConfig config;

  nn_train_config_init (&config);
  config.optimizer = NN_OPTIMIZER_SGD;
  config.learning_rate = 0.1f;
  config.momentum = 0.9f;
  fill (grads, model->n_params, 0.5f);

  nn_optimizer_step (model, &config, 0.1f, 1, grads, m, NULL);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.95, 1e-7);
  g_assert_cmpfloat_with_epsilon (m[0], 0.5, 1e-7);
  nn_optimizer_step (model, &config, 0.1f, 2, grads, m, NULL);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.855, 1e-7);
  g_assert_cmpfloat_with_epsilon (model->params[model->n_params - 1], 0.855, 1e-7);
  g_assert_cmpfloat_with_epsilon (m[0], 0.95, 1e-7);
}

/* Decoupled weight decay 0.01 at lr 0.1 scales weights by 1 - 0.001 before
 * the step: 0.999 - 0.05 = 0.949. Biases are not decayed: 0.95. */
static void
test_sgd_weight_decay (void)
{
  g_autoptr (NnModel) model = model_of_ones ();
  g_autofree float *grads = g_new (float, model->n_params);
  g_autofree float *m = g_new0 (float, model->n_params);
  NnTrainConfig config;
  const gsize bias = nn_layer_weight_size (&model->layers[0]);

  nn_train_config_init (&config);
  config.optimizer = NN_OPTIMIZER_SGD;
  config.weight_decay = 0.01f;
  fill (grads, model->n_params, 0.5f);

  nn_optimizer_step (model, &config, 0.1f, 1, grads, m, NULL);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.949, 1e-7);
  g_assert_cmpfloat_with_epsilon (model->params[bias], 0.95, 1e-7);
}

/* lr 0.1, gradients 0.5 then -0.25, betas (0.9, 0.999), eps 1e-8:
 *   step 1: m = 0.05, v = 0.00025; m^ = 0.05 / 0.1 = 0.5, v^ = 0.25
 *           p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
 *   step 2: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225
 *           m^ = 0.02 / 0.19 = 0.10526316, v^ = 0.00031225 / 0.001999 = 0.15620310
 *           p = 0.9 - 0.1 * 0.10526316 / (0.39522538 + 1e-8) = 0.87336630 */
static void
test_adam (void)
{
  g_autoptr (NnModel) model = model_of_ones ();
  g_autofree float *grads = g_new (float, model->n_params);
  g_autofree float *m = g_new0 (float, model->n_params);
  g_autofree float *v = g_new0 (float, model->n_params);
  NnTrainConfig config;

  nn_train_config_init (&config);
  g_assert_cmpint (config.optimizer, ==, NN_OPTIMIZER_ADAM);

  fill (grads, model->n_params, 0.5f);
  nn_optimizer_step (model, &config, 0.1f, 1, grads, m, v);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.900000002, 1e-7);
  g_assert_cmpfloat_with_epsilon (m[0], 0.05, 1e-8);
  g_assert_cmpfloat_with_epsilon (v[0], 0.00025, 1e-10);

  fill (grads, model->n_params, -0.25f);
  nn_optimizer_step (model, &config, 0.1f, 2, grads, m, v);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.8733662987078463, 1e-6);
  g_assert_cmpfloat_with_epsilon (m[0], 0.02, 1e-8);
  g_assert_cmpfloat_with_epsilon (v[0], 0.00031225, 1e-10);
}

/* AdamW: p = p (1 - lr wd) - step; weights only. */
static void
test_adam_weight_decay (void)
{
  g_autoptr (NnModel) model = model_of_ones ();
  g_autofree float *grads = g_new (float, model->n_params);
  g_autofree float *m = g_new0 (float, model->n_params);
  g_autofree float *v = g_new0 (float, model->n_params);
  const gsize bias = nn_layer_weight_size (&model->layers[0]);
  NnTrainConfig config;

  nn_train_config_init (&config);
  config.weight_decay = 0.5f;
  fill (grads, model->n_params, 0.5f);
  nn_optimizer_step (model, &config, 0.1f, 1, grads, m, v);
  g_assert_cmpfloat_with_epsilon (model->params[0], 0.95 - 0.1, 1e-6);
  g_assert_cmpfloat_with_epsilon (model->params[bias], 0.9, 1e-6);
}

/* 100 steps at base rate 1. */
static void
test_schedules (void)
{
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_CONSTANT, 0.5f, 0, 100), ==, 0.5f);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_CONSTANT, 0.5f, 99, 100), ==, 0.5f);

  /* cosine: 0.5 (1 + cos(pi s / 100)) */
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 0, 100), ==, 1.0f);
  g_assert_cmpfloat_with_epsilon (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 50, 100), 0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 25, 100),
                                  0.5 * (1 + cos (G_PI / 4)), 1e-6);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 99, 100), >, 0.0f);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 99, 100), <, 0.001f);

  /* one-cycle: warm-up of 30 steps reaching 1 at step 29, then cosine over
   * the remaining 70 */
  g_assert_cmpfloat_with_epsilon (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 0, 100), 1.0 / 30, 1e-7);
  g_assert_cmpfloat_with_epsilon (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 14, 100), 0.5, 1e-7);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 29, 100), ==, 1.0f);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 30, 100), ==, 1.0f);
  g_assert_cmpfloat_with_epsilon (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 65, 100), 0.5, 1e-6);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 99, 100), <, 0.001f);

  /* A one-step run still gets its full rate. */
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_ONECYCLE, 1, 0, 1), ==, 1.0f);
  g_assert_cmpfloat (nn_schedule_rate (NN_SCHEDULE_COSINE, 1, 0, 1), ==, 1.0f);
}

static void
test_config_validation (void)
{
  static const struct { const char *field; float value; } bad[] = {
    { "epochs", 0 }, { "batch_size", 0 }, { "batch_size", 5000 },
    { "learning_rate", 0 }, { "learning_rate", -1 }, { "learning_rate", NAN },
    { "momentum", 1 }, { "momentum", -0.1f }, { "weight_decay", -1 },
    { "label_smoothing", 1 }, { "label_smoothing", -0.5f },
    { "scribbles", -0.1f }, { "scribbles", 0.6f }, { "scribbles", NAN },
  };
  NnTrainConfig config;
  g_autoptr (GError) error = NULL;

  nn_train_config_init (&config);
  g_assert_true (nn_train_config_validate (&config, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config.epochs, ==, 1);
  g_assert_cmpuint (config.batch_size, ==, 64);
  g_assert_cmpfloat (config.learning_rate, ==, 1e-3f);
  g_assert_cmpint (config.schedule, ==, NN_SCHEDULE_COSINE);
  g_assert_cmpuint (config.seed, ==, 1);
  g_assert_cmpfloat (config.scribbles, ==, 0.0f);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      NnTrainConfig c;

      nn_train_config_init (&c);
      if (g_str_equal (bad[i].field, "epochs"))
        c.epochs = (guint) bad[i].value;
      else if (g_str_equal (bad[i].field, "batch_size"))
        c.batch_size = (guint) bad[i].value;
      else if (g_str_equal (bad[i].field, "learning_rate"))
        c.learning_rate = bad[i].value;
      else if (g_str_equal (bad[i].field, "momentum"))
        c.momentum = bad[i].value;
      else if (g_str_equal (bad[i].field, "weight_decay"))
        c.weight_decay = bad[i].value;
      else if (g_str_equal (bad[i].field, "scribbles"))
        c.scribbles = bad[i].value;
      else
        c.label_smoothing = bad[i].value;
      g_assert_false (nn_train_config_validate (&c, &error));
      g_assert_error (error, NN_ERROR, NN_ERROR_PARAMETER);
      g_test_message ("%s = %g: %s", bad[i].field, bad[i].value, error->message);
      g_clear_error (&error);
    }
}

static void
test_names (void)
{
  NnOptimizer optimizer;
  NnSchedule schedule;

  g_assert_cmpstr (nn_optimizer_to_string (NN_OPTIMIZER_SGD), ==, "sgd");
  g_assert_cmpstr (nn_optimizer_to_string (NN_OPTIMIZER_ADAM), ==, "adam");
  g_assert_true (nn_optimizer_from_string ("SGD", &optimizer));
  g_assert_cmpint (optimizer, ==, NN_OPTIMIZER_SGD);
  g_assert_true (nn_optimizer_from_string ("adam", &optimizer));
  g_assert_cmpint (optimizer, ==, NN_OPTIMIZER_ADAM);
  g_assert_false (nn_optimizer_from_string ("rmsprop", &optimizer));

  for (NnSchedule s = NN_SCHEDULE_CONSTANT; s <= NN_SCHEDULE_ONECYCLE; s++)
    {
      g_assert_true (nn_schedule_from_string (nn_schedule_to_string (s), &schedule));
      g_assert_cmpint (schedule, ==, s);
    }
  g_assert_true (nn_schedule_from_string ("one-cycle", &schedule));
  g_assert_cmpint (schedule, ==, NN_SCHEDULE_ONECYCLE);
  g_assert_false (nn_schedule_from_string ("linear", &schedule));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/optim/sgd/momentum", test_sgd_momentum);
  g_test_add_func ("/optim/sgd/weight-decay", test_sgd_weight_decay);
  g_test_add_func ("/optim/adam", test_adam);
  g_test_add_func ("/optim/adam/weight-decay", test_adam_weight_decay);
  g_test_add_func ("/optim/schedules", test_schedules);
  g_test_add_func ("/optim/config", test_config_validation);
  g_test_add_func ("/optim/names", test_names);

  test_trap_fp_exceptions ();
  return g_test_run ();
}
