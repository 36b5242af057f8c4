/* test-safetensors.c — the safetensors container: exact bytes written,
 * round trips, atomic writes, and every malformed file refused with its own
 * error code (and without crashing, which valgrind checks in CI). */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nn-safetensors.h"
#include "test-files.h"

static char *tmp_dir;

/* A file made by hand: the header length, @json, then @data. */
static GBytes *
raw_file (const char *json, const void *data, gsize data_len)
{
  GByteArray *array = g_byte_array_new ();
  guint64 len = GUINT64_TO_LE ((guint64) strlen (json));

  g_byte_array_append (array, (const guint8 *) &len, 8);
  g_byte_array_append (array, (const guint8 *) json, strlen (json));
  if (data_len > 0)
    g_byte_array_append (array, data, data_len);
  return g_byte_array_free_to_bytes (array);
}

static void
expect_parse_error (GBytes *bytes, NnError code, const char *in_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnSafetensors) st = nn_safetensors_parse (bytes, &error);

  g_assert_null (st);
  g_assert_error (error, NN_ERROR, (int) code);
  g_test_message ("%s", error->message);
  if (in_message != NULL)
    g_assert_nonnull (strstr (error->message, in_message));
}

static void
expect_raw_error (const char *json, const void *data, gsize data_len,
                  NnError code, const char *in_message)
{
  g_autoptr(GBytes) bytes = raw_file (json, data, data_len);
  expect_parse_error (bytes, code, in_message);
}

static const float six[6] = { 1.0f, -2.0f, 0.5f, 3.25f, -0.0f, 1e-30f };

/* ---- Writing ------------------------------------------------------------ */

static void
test_known_bytes (void)
{
  static const float two[2] = { 1.0f, -2.0f };
  static const guint8 expected_data[8] = { 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0 };
  const char *json = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  NnStTensorRef ref = { "t", 1, { 2 }, two };
  g_autoptr(GBytes) bytes = nn_safetensors_serialize (&ref, 1, NULL);
  gsize size;
  const guint8 *p = g_bytes_get_data (bytes, &size);
  guint64 header_len;

  memcpy (&header_len, p, 8);
  header_len = GUINT64_FROM_LE (header_len);

  /* The JSON, then spaces up to an 8-byte boundary, then the floats in
   * little-endian order. */
  g_assert_cmpuint ((8 + header_len) % 8, ==, 0);
  g_assert_cmpuint (header_len, >=, strlen (json));
  g_assert_cmpuint (header_len, <, strlen (json) + 8);
  g_assert_cmpmem (p + 8, strlen (json), json, strlen (json));
  for (gsize i = 8 + strlen (json); i < 8 + header_len; i++)
    g_assert_cmpint (p[i], ==, ' ');
  g_assert_cmpuint (size, ==, 8 + header_len + 8);
  g_assert_cmpmem (p + 8 + header_len, 8, expected_data, 8);
}

static void
test_round_trip (void)
{
  static const float one[1] = { 42.0f };
  float four_d[2 * 1 * 3 * 3];
  NnStTensorRef refs[4] = {
    { "layers.0.weight", 4, { 2, 1, 3, 3 }, four_d },
    { "layers.0.bias", 1, { 6 }, six },
    { "scalar", 0, { 0 }, one },
    { "empty", 2, { 0, 5 }, NULL },
  };
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnSafetensors) st = NULL;
  g_auto(GStrv) names = NULL;
  g_auto(GStrv) keys = NULL;
  float copy[18];
  guint ndim;
  guint64 shape[4];

  for (guint i = 0; i < G_N_ELEMENTS (four_d); i++)
    four_d[i] = (float) i * 0.1f - 0.7f;
  g_hash_table_insert (metadata, "name", "Zahlen — ✓");
  g_hash_table_insert (metadata, "arch", "conv5x5:8 relu maxpool dense:10");
  g_hash_table_insert (metadata, "quote", "say \"hi\"\n\ttab");

  bytes = nn_safetensors_serialize (refs, G_N_ELEMENTS (refs), metadata);
  st = nn_safetensors_parse (bytes, &error);
  g_assert_no_error (error);

  names = nn_safetensors_list_tensors (st);
  g_assert_cmpuint (g_strv_length (names), ==, 4);
  /* File order: by offset, so the order the tensors were given in (the
   * empty one sits at the end, at the same offset as nothing). */
  g_assert_cmpstr (names[0], ==, "layers.0.weight");
  g_assert_cmpstr (names[1], ==, "layers.0.bias");
  g_assert_cmpstr (names[2], ==, "scalar");
  g_assert_cmpstr (names[3], ==, "empty");

  keys = nn_safetensors_list_metadata (st);
  g_assert_cmpuint (g_strv_length (keys), ==, 3);
  g_assert_cmpstr (keys[0], ==, "arch");
  g_assert_cmpstr (keys[1], ==, "name");
  g_assert_cmpstr (keys[2], ==, "quote");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "name"), ==, "Zahlen — ✓");
  g_assert_cmpstr (nn_safetensors_get_metadata (st, "quote"), ==, "say \"hi\"\n\ttab");
  g_assert_null (nn_safetensors_get_metadata (st, "absent"));

  g_assert_true (nn_safetensors_get_shape (st, "layers.0.weight", &ndim, shape));
  g_assert_cmpuint (ndim, ==, 4);
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 1);
  g_assert_cmpuint (shape[2], ==, 3);
  g_assert_cmpuint (shape[3], ==, 3);
  g_assert_true (nn_safetensors_get_shape (st, "scalar", &ndim, shape));
  g_assert_cmpuint (ndim, ==, 0);
  g_assert_false (nn_safetensors_get_shape (st, "nope", &ndim, shape));

  /* Bitwise: -0.0 and the denormal-adjacent value come back unchanged. */
  g_assert_true (nn_safetensors_copy_tensor (st, "layers.0.weight", copy, 18, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (copy, sizeof four_d, four_d, sizeof four_d);
  g_assert_true (nn_safetensors_copy_tensor (st, "layers.0.bias", copy, 6, &error));
  g_assert_cmpmem (copy, sizeof six, six, sizeof six);
  g_assert_true (nn_safetensors_copy_tensor (st, "scalar", copy, 1, &error));
  g_assert_cmpfloat (copy[0], ==, 42.0f);
  g_assert_true (nn_safetensors_copy_tensor (st, "empty", copy, 0, &error));

  g_assert_false (nn_safetensors_copy_tensor (st, "layers.0.bias", copy, 5, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE);
  g_clear_error (&error);
  g_assert_false (nn_safetensors_copy_tensor (st, "nope", copy, 5, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_MODEL_MISSING_TENSOR);
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
        {
          g_test_message ("unexpected file %s", entry);
          return FALSE;
        }
      n++;
    }
  return n == 1;
}

static void
test_atomic_write (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "atomic", NULL);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *absent = g_build_filename (tmp_dir, "no-such-dir", "m.safetensors", NULL);
  g_autofree char *old_contents = NULL;
  g_autofree char *contents = NULL;
  static float big[100000];
  NnStTensorRef small = { "w", 1, { 6 }, six };
  NnStTensorRef large = { "w", 1, { G_N_ELEMENTS (big) }, big };
  g_autoptr(GError) error = NULL;
  struct rlimit old_limit, limit;
  gsize old_len, len;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_true (nn_safetensors_write (path, &small, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &old_contents, &old_len, NULL));

  /* No folder: an error that names the file. */
  g_assert_false (nn_safetensors_write (absent, &small, 1, NULL, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "m.safetensors"));
  g_clear_error (&error);

  /* A write that fails half way (the file size limit stands in for a full
   * disk, and works even for root) leaves the old file whole and no
   * temporary file behind. */
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  g_assert_false (nn_safetensors_write (path, &large, 1, NULL, &error));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, old_contents, old_len);
  g_assert_true (dir_has_only (dir, "model.safetensors"));
  g_clear_pointer (&contents, g_free);

  /* A read-only folder, where permissions apply (not for root). */
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (dir, 0500), ==, 0);
      g_assert_false (nn_safetensors_write (path, &large, 1, NULL, &error));
      g_assert_error (error, NN_ERROR, NN_ERROR_IO);
      g_clear_error (&error);
      g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      g_assert_cmpmem (contents, len, old_contents, old_len);
      g_assert_true (dir_has_only (dir, "model.safetensors"));
      g_clear_pointer (&contents, g_free);
    }

  /* And a write that succeeds replaces the file with no leftovers. */
  g_assert_true (nn_safetensors_write (path, &large, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (dir_has_only (dir, "model.safetensors"));
  {
    g_autoptr(NnSafetensors) st = nn_safetensors_read (path, &error);
    g_assert_no_error (error);
    g_assert_true (nn_safetensors_copy_tensor (st, "w", big, G_N_ELEMENTS (big), &error));
  }

  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Reading bad files -------------------------------------------------- */

static void
test_read_names_file (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "bad-json.safetensors", NULL);
  g_autofree char *absent = g_build_filename (tmp_dir, "absent.safetensors", NULL);
  g_autoptr(GBytes) bytes = raw_file ("{\"a\": ", NULL, 0);
  g_autoptr(GError) error = NULL;
  NnSafetensors *st;

  write_test_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  st = nn_safetensors_read (path, &error);
  g_assert_null (st);
  g_assert_error (error, NN_ERROR, NN_ERROR_MODEL_JSON);
  g_assert_nonnull (strstr (error->message, "bad-json.safetensors"));
  g_clear_error (&error);
  g_unlink (path);

  st = nn_safetensors_read (absent, &error);
  g_assert_null (st);
  g_assert_error (error, NN_ERROR, NN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "absent.safetensors"));
}

static void
test_header_size (void)
{
  static const guint8 tiny[5] = { 1, 2, 3, 4, 5 };
  g_autoptr(GBytes) short_file = g_bytes_new_static (tiny, sizeof tiny);
  guint64 lengths[] = { 0, 1, G_GUINT64_CONSTANT (1) << 62, G_MAXUINT64, 200000000, 30 };

  expect_parse_error (short_file, NN_ERROR_MODEL_HEADER_SIZE, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      /* Twenty bytes of "header" after a length field that lies. */
      guint8 file[8 + 20];
      guint64 le = GUINT64_TO_LE (lengths[i]);
      g_autoptr(GBytes) bytes = NULL;

      memcpy (file, &le, 8);
      memset (file + 8, '{', 20);
      bytes = g_bytes_new (file, sizeof file);
      expect_parse_error (bytes, NN_ERROR_MODEL_HEADER_SIZE, NULL);
    }
}

static void
test_bad_json (void)
{
  GString *deep = g_string_new (NULL);

  expect_raw_error ("{\"a\": ", NULL, 0, NN_ERROR_MODEL_JSON, NULL);
  expect_raw_error ("not json at all", NULL, 0, NN_ERROR_MODEL_JSON, NULL);
  expect_raw_error ("[1, 2, 3]", NULL, 0, NN_ERROR_MODEL_JSON, "object");
  expect_raw_error ("  ", NULL, 0, NN_ERROR_MODEL_JSON, NULL);
  expect_raw_error ("{\"t\": 3}", NULL, 0, NN_ERROR_MODEL_JSON, "“t”");
  expect_raw_error ("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", six, 4,
                    NN_ERROR_MODEL_JSON, "dtype");

  /* A header nested a hundred thousand deep is refused before the JSON
   * parser, which recurses, could overflow the stack on it. */
  g_string_append (deep, "{\"a\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  expect_raw_error (deep->str, NULL, 0, NN_ERROR_MODEL_JSON, NULL);
  g_string_free (deep, TRUE);
}

static void
test_bad_metadata (void)
{
  expect_raw_error ("{\"__metadata__\": {\"epochs\": 3}}", NULL, 0, NN_ERROR_MODEL_METADATA, "epochs");
  expect_raw_error ("{\"__metadata__\": [\"a\"]}", NULL, 0, NN_ERROR_MODEL_METADATA, NULL);
  expect_raw_error ("{\"__metadata__\": {\"a\": null}}", NULL, 0, NN_ERROR_MODEL_METADATA, NULL);
}

static void
test_bad_dtype (void)
{
  expect_raw_error ("{\"t\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}",
                    six, 4, NN_ERROR_MODEL_DTYPE, "F16");
  expect_raw_error ("{\"t\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}",
                    six, 8, NN_ERROR_MODEL_DTYPE, "“t”");
}

static void
test_bad_shape (void)
{
  /* Six floats of data, shapes that do not say six. */
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, "“t”");
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [-6], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [6.0], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [\"6\"], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 6], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  /* A product that overflows 64 bits must not wrap round to 6. */
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 6], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
  expect_raw_error ("{\"t\": {\"dtype\": \"F32\", \"shape\": [9223372036854775807, 2, 0, 6], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_SHAPE, NULL);
}

static void
test_bad_offsets (void)
{
  /* Overlapping: both claim bytes 8..16. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, "overlaps");
  /* The same bytes twice. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, NULL);
  /* Past the end of the file. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [8, 32]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, "outside");
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [18446744073709551612, 0]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, NULL);
  /* Backwards. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, NULL);
  /* A hole between two tensors. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [12, 24]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, "no tensor");
  /* Trailing bytes after the last tensor. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [5], \"data_offsets\": [0, 20]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, "follow");
  /* Not a pair of integers. */
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, NULL);
  expect_raw_error ("{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24.0]}}",
                    six, 24, NN_ERROR_MODEL_OFFSETS, NULL);
  /* Out of order in the header is fine as long as the bytes tile. */
  {
    g_autoptr(GBytes) bytes = raw_file ("{\"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]},"
                                        " \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
                                        six, 24);
    g_autoptr(GError) error = NULL;
    g_autoptr(NnSafetensors) st = nn_safetensors_parse (bytes, &error);
    g_auto(GStrv) names = NULL;
    float b[4];

    g_assert_no_error (error);
    names = nn_safetensors_list_tensors (st);
    g_assert_cmpstr (names[0], ==, "a");
    g_assert_cmpstr (names[1], ==, "b");
    g_assert_true (nn_safetensors_copy_tensor (st, "b", b, 4, &error));
    g_assert_cmpmem (b, sizeof b, six + 2, sizeof b);
  }
}

static void
test_nonfinite (void)
{
  float values[6];
  const float bad[] = { NAN, INFINITY, -INFINITY };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      memcpy (values, six, sizeof values);
      values[4] = bad[i];
      expect_raw_error ("{\"ok\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                        " \"layers.3.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}",
                        values, 24, NN_ERROR_MODEL_NONFINITE, "“layers.3.weight”");
    }
}

/* Every prefix and many single-byte corruptions of a good file: each is
 * either refused with an NnError or, for corruptions that happen to be
 * harmless (a byte of a weight), read as a valid file. Nothing crashes and,
 * under valgrind, nothing is read out of bounds. */
static void
test_corruptions (void)
{
  NnStTensorRef refs[2] = {
    { "layers.0.weight", 2, { 2, 3 }, six },
    { "layers.0.bias", 1, { 2 }, six },
  };
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GBytes) good = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gsize size;
  const guint8 *p;
  guint accepted = 0;

  g_hash_table_insert (metadata, "format", "digitlab-model");
  good = nn_safetensors_serialize (refs, 2, metadata);
  p = g_bytes_get_data (good, &size);

  for (gsize len = 0; len < size; len++)
    {
      g_autoptr(GBytes) prefix = g_bytes_new (p, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(NnSafetensors) st = nn_safetensors_parse (prefix, &error);

      g_assert_null (st);
      g_assert_true (error->domain == NN_ERROR);
    }

  for (int trial = 0; trial < 2000; trial++)
    {
      g_autofree guint8 *copy = g_memdup2 (p, size);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(NnSafetensors) st = NULL;

      copy[g_rand_int_range (rand, 0, (gint32) size)] = (guint8) g_rand_int_range (rand, 0, 256);
      bytes = g_bytes_new_take (g_steal_pointer (&copy), size);
      st = nn_safetensors_parse (bytes, &error);
      if (st == NULL)
        g_assert_true (error->domain == NN_ERROR);
      else
        accepted++;
    }
  g_test_message ("%u of 2000 corrupted files were still valid", accepted);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("digitlab-test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/safetensors/known-bytes", test_known_bytes);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/atomic-write", test_atomic_write);
  g_test_add_func ("/safetensors/read-names-file", test_read_names_file);
  g_test_add_func ("/safetensors/header-size", test_header_size);
  g_test_add_func ("/safetensors/bad-json", test_bad_json);
  g_test_add_func ("/safetensors/bad-metadata", test_bad_metadata);
  g_test_add_func ("/safetensors/bad-dtype", test_bad_dtype);
  g_test_add_func ("/safetensors/bad-shape", test_bad_shape);
  g_test_add_func ("/safetensors/bad-offsets", test_bad_offsets);
  g_test_add_func ("/safetensors/nonfinite", test_nonfinite);
  g_test_add_func ("/safetensors/corruptions", test_corruptions);

  result = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return result;
}
