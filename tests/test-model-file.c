/* test-model-file.c — model files: a saved model loads back bit for bit and
 * predicts the same, saving is atomic, and every kind of bad file is refused
 * with its own error code, naming the file, leaving nothing behind. */
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "nn-safetensors.h"
#include "test-files.h"

/* Small, but with every kind of tensor: conv and dense weights and biases,
 * batch norm's parameters and its running statistics (buffers). */
#define SPEC "conv3x3:4 bn relu maxpool dense:16 relu dense:10"

static char *tmp_dir;

static NnModel *
make_model (void)
{
  g_autoptr(GError) error = NULL;
  NnModel *model = nn_model_new (SPEC, 42, &error);

  g_assert_no_error (error);
  /* Running statistics that are not the defaults, so a loader that
   * forgot the buffers would be caught. */
  for (guint i = 0; i < nn_model_get_n_tensors (model); i++)
    {
      NnTensor t;
      nn_model_get_tensor (model, i, &t);
      if (!t.trainable)
        for (gsize k = 0; k < t.n_elements; k++)
          t.data[k] = 0.5f + 0.25f * (float) k;
    }
  nn_model_set_metadata (model, "name", "Zahlen — ✓");
  nn_model_set_metadata (model, "epochs", "3");
  nn_model_set_metadata (model, "test_accuracy", "0.9871");
  return model;
}

static void
assert_same_model (NnModel *a, NnModel *b)
{
  g_auto(GStrv) keys_a = nn_model_list_metadata (a);
  g_auto(GStrv) keys_b = nn_model_list_metadata (b);

  g_assert_cmpstr (nn_model_get_spec (a), ==, nn_model_get_spec (b));
  g_assert_cmpuint (nn_model_get_n_tensors (a), ==, nn_model_get_n_tensors (b));
  for (guint i = 0; i < nn_model_get_n_tensors (a); i++)
    {
      NnTensor ta, tb;
      nn_model_get_tensor (a, i, &ta);
      nn_model_get_tensor (b, i, &tb);
      g_assert_cmpstr (ta.name, ==, tb.name);
      g_assert_cmpuint (ta.n_elements, ==, tb.n_elements);
      g_assert_cmpmem (ta.data, ta.n_elements * sizeof (float), tb.data, tb.n_elements * sizeof (float));
    }

  g_assert_cmpuint (g_strv_length (keys_a), ==, g_strv_length (keys_b));
  for (guint i = 0; keys_a[i] != NULL; i++)
    {
      g_assert_cmpstr (keys_a[i], ==, keys_b[i]);
      g_assert_cmpstr (nn_model_get_metadata (a, keys_a[i]), ==, nn_model_get_metadata (b, keys_b[i]));
    }
}

static void
assert_same_predictions (NnModel *a, NnModel *b)
{
  enum { N = 8 };
  g_autofree float *images = g_new (float, N * NN_IMAGE_PIXELS);
  float pa[N * NN_CLASSES], pb[N * NN_CLASSES];
  NnRng rng;

  nn_rng_init (&rng, 7);
  for (guint i = 0; i < N * NN_IMAGE_PIXELS; i++)
    images[i] = nn_rng_uniform (&rng);
  nn_model_predict (a, images, N, pa);
  nn_model_predict (b, images, N, pb);
  g_assert_cmpmem (pa, sizeof pa, pb, sizeof pb);
  for (guint i = 0; i < N * NN_CLASSES; i++)
    g_assert_true (isfinite (pa[i]));
}

/* ---- Good files --------------------------------------------------------- */

static void
test_round_trip (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(NnModel) loaded = NULL;
  g_autoptr(NnModel) from_bytes = NULL;
  g_autoptr(GBytes) bytes = nn_model_save_to_bytes (model);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "model.safetensors", NULL);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (nn_model_save (model, path, &error));
  g_assert_no_error (error);
  loaded = nn_model_load (path, &error);
  g_assert_no_error (error);
  assert_same_model (model, loaded);
  assert_same_predictions (model, loaded);

  /* The file on disk is exactly the bytes, and the same model always
   * gives the same bytes. */
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  from_bytes = nn_model_load_from_bytes (bytes, &error);
  g_assert_no_error (error);
  assert_same_model (model, from_bytes);

  /* Saved again after loading: the same file. */
  {
    g_autoptr(GBytes) again = nn_model_save_to_bytes (loaded);
    g_assert_true (g_bytes_equal (bytes, again));
  }
  g_unlink (path);
}

static void
test_metadata_in_file (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(NnSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;

  /* The model's own metadata cannot override what the file says about
   * itself. */
  nn_model_set_metadata (model, "format", "something else");
  nn_model_set_metadata (model, "arch", "mlp");
  bytes = nn_model_save_to_bytes (model);
  st = nn_safetensors_parse (bytes, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (nn_safetensors_get_metadata (st, "format"), ==, "digitlab-model");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "format_version"), ==, "1");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "arch"), ==, nn_model_get_spec (model));
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "input"), ==,
                   "1x28x28 float32, 0 = background, 1 = ink, MNIST preprocessing");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "name"), ==, "Zahlen — ✓");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "epochs"), ==, "3");

  /* Tensors under the model's names, in its order. */
  names = nn_safetensors_list_tensors (st);
  g_assert_cmpuint (g_strv_length (names), ==, nn_model_get_n_tensors (model));
  for (guint i = 0; names[i] != NULL; i++)
    {
      NnTensor t;
      nn_model_get_tensor (model, i, &t);
      g_assert_cmpstr (names[i], ==, t.name);
    }

  /* The file's own keys do not end up in the loaded model's metadata. */
  {
    g_autoptr(NnModel) loaded = nn_model_load_from_bytes (bytes, &error);
    g_assert_no_error (error);
    g_assert_null (nn_model_get_metadata (loaded, "format"));
    g_assert_null (nn_model_get_metadata (loaded, "arch"));
    g_assert_cmpstr (nn_model_get_metadata (loaded, "test_accuracy"), ==, "0.9871");
  }
}

static gboolean
dir_has_only (const char *dir, const char *name)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  guint n = 0;

  while ((entry = g_dir_read_name (d)) != NULL)
    {
      if (strcmp (entry, name) != 0)
        return FALSE;
      n++;
    }
  return n == 1;
}

static void
test_atomic_save (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(NnModel) big = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (tmp_dir, "atomic", NULL);
  g_autofree char *path = g_build_filename (dir, "good.safetensors", NULL);
  g_autofree char *absent = g_build_filename (tmp_dir, "no-such-dir", "m.safetensors", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize before_len, after_len;
  struct rlimit old_limit, limit;

  big = nn_model_new ("dense:512 relu dense:10", 1, &error);
  g_assert_no_error (error);

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_true (nn_model_save (model, path, &error));
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  g_assert_false (nn_model_save (model, absent, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "m.safetensors"));
  g_clear_error (&error);

  /* Saving a bigger model over the good file fails half way (the file
   * size limit stands in for a full disk; it binds root too): the good
   * file is untouched and no temporary file is left. */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  limit = old_limit;
  limit.rlim_cur = before_len + 4096;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  g_assert_false (nn_model_save (big, path, &error));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "good.safetensors"));
  g_clear_error (&error);

  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  g_assert_true (dir_has_only (dir, "good.safetensors"));
  {
    g_autoptr(NnModel) still = nn_model_load (path, &error);
    g_assert_no_error (error);
    assert_same_model (model, still);
  }

  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Bad files ---------------------------------------------------------- */

/* How to spoil a model file written by hand from a real model. */
typedef struct {
  const char *drop;          /* leave this tensor out */
  const char *extra;         /* add a tensor of this name */
  const char *retype;        /* give this tensor dtype F16 */
  const char *transpose;     /* swap the first two dimensions of this one */
  const char *poison;        /* put a NaN into this one */
  gboolean    overlap;       /* the last tensor starts 4 bytes early */
  gboolean    past_end;      /* the last tensor ends 4 bytes past the data */
  const char *metadata;      /* raw JSON for __metadata__, or NULL */
} Spoil;

static GBytes *
spoilt_file (NnModel *model, const Spoil *spoil)
{
  GString *json = g_string_new ("{");
  GByteArray *data = g_byte_array_new ();
  GByteArray *file = g_byte_array_new ();
  guint n = nn_model_get_n_tensors (model);
  guint64 header_len;

  g_string_append_printf (json, "\"__metadata__\": %s",
                          spoil->metadata != NULL ? spoil->metadata :
                          "{\"format\": \"digitlab-model\", \"format_version\": \"1\", "
                          "\"arch\": \"" SPEC "\"}");

  for (guint i = 0; i < n; i++)
    {
      NnTensor t;
      gsize begin = data->len, size;
      guint shape[4];

      nn_model_get_tensor (model, i, &t);
      if (g_strcmp0 (spoil->drop, t.name) == 0)
        continue;
      size = t.n_elements * sizeof (float);
      g_byte_array_append (data, (const guint8 *) t.data, size);
      if (g_strcmp0 (spoil->poison, t.name) == 0)
        {
          float nan = NAN;
          memcpy (data->data + begin + size / 2 / 4 * 4, &nan, 4);
        }

      memcpy (shape, t.shape, sizeof shape);
      if (g_strcmp0 (spoil->transpose, t.name) == 0)
        {
          guint tmp = shape[0];
          shape[0] = shape[1];
          shape[1] = tmp;
        }
      if (i == n - 1 && spoil->overlap)
        begin -= 4;
      g_string_append_printf (json, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [",
                              t.name, g_strcmp0 (spoil->retype, t.name) == 0 ? "F16" : "F32");
      for (guint d = 0; d < t.ndim; d++)
        g_string_append_printf (json, d == 0 ? "%u" : ", %u", shape[d]);
      g_string_append_printf (json, "], \"data_offsets\": [%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT "]}",
                              begin, begin + size + (i == n - 1 && spoil->past_end ? 4 : 0));
    }
  if (spoil->extra != NULL)
    {
      static const float two[2] = { 1, 2 };
      g_string_append_printf (json, ", \"%s\": {\"dtype\": \"F32\", \"shape\": [2], "
                              "\"data_offsets\": [%u, %u]}", spoil->extra, data->len, data->len + 8);
      g_byte_array_append (data, (const guint8 *) two, 8);
    }
  g_string_append (json, "}");

  header_len = GUINT64_TO_LE ((guint64) json->len);
  g_byte_array_append (file, (const guint8 *) &header_len, 8);
  g_byte_array_append (file, (const guint8 *) json->str, json->len);
  g_byte_array_append (file, data->data, data->len);
  g_string_free (json, TRUE);
  g_byte_array_unref (data);
  return g_byte_array_free_to_bytes (file);
}

/* Loads @bytes from a file of their own; the load must fail with @code and
 * a message that names the file and contains @says. */
static void
expect_load_error (GBytes *bytes, NnError code, const char *says)
{
  g_autofree char *path = g_build_filename (tmp_dir, "bad.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = NULL;

  g_assert_true (write_test_file (path, g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes), NULL));
  model = nn_model_load (path, &error);
  g_test_message ("%s", error != NULL ? error->message : "(loaded)");
  g_assert_null (model);
  g_assert_error (error, NN_ERROR, (int) code);
  g_assert_nonnull (strstr (error->message, "bad.safetensors"));
  if (says != NULL)
    g_assert_nonnull (strstr (error->message, says));
  g_clear_error (&error);

  /* The same from memory. */
  model = nn_model_load_from_bytes (bytes, &error);
  g_assert_null (model);
  g_assert_error (error, NN_ERROR, (int) code);
  g_unlink (path);
}

static void
expect_spoil_error (const Spoil *spoil, NnError code, const char *says)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(GBytes) bytes = spoilt_file (model, spoil);
  expect_load_error (bytes, code, says);
}

static void
test_spoilt_control (void)
{
  /* The hand-made file itself is good: each spoilt one differs from it by
   * its one fault. */
  g_autoptr(NnModel) model = make_model ();
  Spoil nothing = { 0 };
  g_autoptr(GBytes) bytes = spoilt_file (model, &nothing);
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) loaded = nn_model_load_from_bytes (bytes, &error);

  g_assert_no_error (error);
  assert_same_predictions (model, loaded);
}

static void
test_truncated (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(GBytes) good = nn_model_save_to_bytes (model);
  gsize size = g_bytes_get_size (good);
  g_autoptr(GBytes) no_data = g_bytes_new_from_bytes (good, 0, size - 100);
  g_autoptr(GBytes) half_header = g_bytes_new_from_bytes (good, 0, 100);
  g_autoptr(GBytes) tiny = g_bytes_new_from_bytes (good, 0, 5);
  g_autoptr(GBytes) empty = g_bytes_new_from_bytes (good, 0, 0);

  expect_load_error (no_data, NN_ERROR_MODEL_OFFSETS, NULL);
  expect_load_error (half_header, NN_ERROR_MODEL_HEADER_SIZE, NULL);
  expect_load_error (tiny, NN_ERROR_MODEL_HEADER_SIZE, NULL);
  expect_load_error (empty, NN_ERROR_MODEL_HEADER_SIZE, NULL);

  /* Cuts all through the header and across the data: never a crash,
   * never a model. */
  for (gsize len = 0; len < size; len += len < 2048 ? 3 : 509)
    {
      g_autoptr(GBytes) cut = g_bytes_new_from_bytes (good, 0, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(NnModel) loaded = nn_model_load_from_bytes (cut, &error);
      g_assert_null (loaded);
      g_assert_true (error->domain == NN_ERROR);
    }
}

static void
test_header_length (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(GBytes) good = nn_model_save_to_bytes (model);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  g_autoptr(GBytes) bytes = NULL;
  guint64 huge = GUINT64_TO_LE (G_GUINT64_CONSTANT (0x7fffffffffffffff));

  memcpy (copy, &huge, 8);
  bytes = g_bytes_new (copy, g_bytes_get_size (good));
  expect_load_error (bytes, NN_ERROR_MODEL_HEADER_SIZE, NULL);
}

static void
test_bad_json (void)
{
  g_autoptr(NnModel) model = make_model ();
  g_autoptr(GBytes) good = nn_model_save_to_bytes (model);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  g_autoptr(GBytes) bytes = NULL;

  copy[8] = '[';   /* the header's opening brace */
  bytes = g_bytes_new (copy, g_bytes_get_size (good));
  expect_load_error (bytes, NN_ERROR_MODEL_JSON, NULL);
}

static void
test_bad_tensors (void)
{
  const Spoil f16 = { .retype = "layers.0.weight" };
  const Spoil transposed = { .transpose = "layers.4.weight" };
  const Spoil missing = { .drop = "layers.1.running_var" };
  const Spoil extra = { .extra = "layers.9.weight" };
  const Spoil nan = { .poison = "layers.6.weight" };
  const Spoil overlap = { .overlap = TRUE };
  const Spoil past_end = { .past_end = TRUE };

  expect_spoil_error (&f16, NN_ERROR_MODEL_DTYPE, "F16");
  expect_spoil_error (&transposed, NN_ERROR_MODEL_SHAPE, "layers.4.weight");
  expect_spoil_error (&missing, NN_ERROR_MODEL_MISSING_TENSOR, "layers.1.running_var");
  expect_spoil_error (&extra, NN_ERROR_MODEL_EXTRA_TENSOR, "layers.9.weight");
  expect_spoil_error (&nan, NN_ERROR_MODEL_NONFINITE, "layers.6.weight");
  expect_spoil_error (&overlap, NN_ERROR_MODEL_OFFSETS, NULL);
  expect_spoil_error (&past_end, NN_ERROR_MODEL_OFFSETS, NULL);
}

static void
test_bad_metadata (void)
{
  const Spoil other_format = { .metadata = "{\"format\": \"pt\", \"format_version\": \"1\", \"arch\": \"" SPEC "\"}" };
  const Spoil no_format = { .metadata = "{\"arch\": \"" SPEC "\"}" };
  const Spoil no_metadata = { .metadata = "{}" };
  const Spoil future = { .metadata = "{\"format\": \"digitlab-model\", \"format_version\": \"2\", \"arch\": \"" SPEC "\"}" };
  const Spoil bad_arch = { .metadata = "{\"format\": \"digitlab-model\", \"format_version\": \"1\", \"arch\": \"conv3x3:banana\"}" };
  const Spoil other_arch = { .metadata = "{\"format\": \"digitlab-model\", \"format_version\": \"1\", \"arch\": \"conv3x3:8 bn relu maxpool dense:16 relu dense:10\"}" };
  const Spoil no_arch = { .metadata = "{\"format\": \"digitlab-model\", \"format_version\": \"1\"}" };
  const Spoil not_string = { .metadata = "{\"format\": \"digitlab-model\", \"format_version\": 1, \"arch\": \"" SPEC "\"}" };

  expect_spoil_error (&other_format, NN_ERROR_MODEL_VERSION, "digitlab-model");
  expect_spoil_error (&no_format, NN_ERROR_MODEL_VERSION, NULL);
  expect_spoil_error (&no_metadata, NN_ERROR_MODEL_VERSION, NULL);
  expect_spoil_error (&future, NN_ERROR_MODEL_VERSION, "2");
  /* The spec's own error is in the message. */
  expect_spoil_error (&bad_arch, NN_ERROR_MODEL_METADATA, "banana");
  /* A valid arch that is not this file's: the shapes disagree. */
  expect_spoil_error (&other_arch, NN_ERROR_MODEL_SHAPE, NULL);
  expect_spoil_error (&no_arch, NN_ERROR_MODEL_METADATA, "arch");
  expect_spoil_error (&not_string, NN_ERROR_MODEL_METADATA, "format_version");
}

static void
test_missing_file (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "absent.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_load (path, &error);

  g_assert_null (model);
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "absent.safetensors"));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("digitlab-test-model-file-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/model-file/round-trip", test_round_trip);
  g_test_add_func ("/model-file/metadata-in-file", test_metadata_in_file);
  g_test_add_func ("/model-file/atomic-save", test_atomic_save);
  g_test_add_func ("/model-file/spoilt-control", test_spoilt_control);
  g_test_add_func ("/model-file/truncated", test_truncated);
  g_test_add_func ("/model-file/header-length", test_header_length);
  g_test_add_func ("/model-file/bad-json", test_bad_json);
  g_test_add_func ("/model-file/bad-tensors", test_bad_tensors);
  g_test_add_func ("/model-file/bad-metadata", test_bad_metadata);
  g_test_add_func ("/model-file/missing-file", test_missing_file);

  result = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return result;
}
