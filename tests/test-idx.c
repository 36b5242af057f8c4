/* test-idx.c — IDX data sets: every kind of bad file gets its own error,
 * good files load with the right bytes, plain or gzipped, and MNIST itself
 * loads when it is there. */
#include <glib/gstdio.h>
#include <string.h>

#include "nn.h"
#include "test-files.h"

/* ---- Writing test files ------------------------------------------------- */

static char *tmp_dir;

static GBytes *
gzip_bytes (const guint8 *data, gsize len)
{
  g_autoptr(GZlibCompressor) deflater = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) stream = g_converter_output_stream_new (memory, G_CONVERTER (deflater));
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (stream, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (stream, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static void
put_be32 (GByteArray *array, guint32 value)
{
  guint32 be = GUINT32_TO_BE (value);
  g_byte_array_append (array, (const guint8 *) &be, 4);
}

/* An image file: header with the given fields, then @n_payload bytes of a
 * recognisable pattern (byte i of image k is (k * 7 + i) % 256). */
static GByteArray *
make_images (guint32 magic, guint32 count, guint32 rows, guint32 cols, gsize n_payload)
{
  GByteArray *array = g_byte_array_new ();
  put_be32 (array, magic);
  put_be32 (array, count);
  put_be32 (array, rows);
  put_be32 (array, cols);
  for (gsize i = 0; i < n_payload; i++)
    {
      guint8 b = (guint8) (((i / 784) * 7 + i % 784) % 256);
      g_byte_array_append (array, &b, 1);
    }
  return array;
}

static GByteArray *
make_labels (guint32 magic, guint32 count, const guint8 *labels, gsize n_labels)
{
  GByteArray *array = g_byte_array_new ();
  put_be32 (array, magic);
  put_be32 (array, count);
  g_byte_array_append (array, labels, n_labels);
  return array;
}

/* Writes @array as @name in the temporary folder, gzipped if asked, and
 * frees it. Returns the path. */
static char *
write_file (const char *name, GByteArray *array, gboolean gzipped)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (gzipped)
    {
      g_autoptr(GBytes) compressed = gzip_bytes (array->data, array->len);
      gsize len;
      const char *data = g_bytes_get_data (compressed, &len);
      write_test_file (path, data, len, &error);
    }
  else
    write_test_file (path, array->data, array->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (array);
  return path;
}

static const guint8 good_labels[3] = { 1, 0, 9 };

static char *
write_good_images (gboolean gzipped)
{
  return write_file (gzipped ? "good-images.gz" : "good-images",
                     make_images (2051, 3, 28, 28, 3 * 784), gzipped);
}

static char *
write_good_labels (gboolean gzipped)
{
  return write_file (gzipped ? "good-labels.gz" : "good-labels",
                     make_labels (2049, 3, good_labels, 3), gzipped);
}

/* Loads the pair and asserts it fails with @code; returns the message. */
static char *
expect_error (const char *images, const char *labels, NnError code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnDataset) dataset = nn_dataset_load_idx (images, labels, &error);

  g_assert_null (dataset);
  g_assert_error (error, NN_ERROR, (int) code);
  g_test_message ("%s", error->message);
  return g_strdup (error->message);
}

/* Asserts that the message names the file it is about. */
static void
assert_names_file (const char *message, const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_assert_nonnull (strstr (message, base));
}

/* ---- Good files --------------------------------------------------------- */

static void
check_good_dataset (NnDataset *dataset)
{
  float image[784];

  g_assert_nonnull (dataset);
  g_assert_cmpuint (dataset->count, ==, 3);
  g_assert_cmpuint (dataset->rows, ==, 28);
  g_assert_cmpuint (dataset->cols, ==, 28);
  g_assert_cmpmem (dataset->labels, 3, good_labels, 3);
  for (gsize i = 0; i < 3 * 784; i++)
    g_assert_cmpuint (dataset->images[i], ==, ((i / 784) * 7 + i % 784) % 256);

  nn_dataset_get_image (dataset, 2, image);
  g_assert_cmpfloat (image[0], ==, 14.0f / 255.0f);
  g_assert_cmpfloat (image[241], ==, 1.0f);          /* byte 255 */
  g_assert_cmpfloat (image[242], ==, 0.0f);          /* byte 0 */
}

static void
test_valid (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *labels = write_good_labels (gzipped);
      g_autoptr(GError) error = NULL;
      g_autoptr(NnDataset) dataset = nn_dataset_load_idx (images, labels, &error);

      g_assert_no_error (error);
      check_good_dataset (dataset);
    }
}

static void
test_gzip_multi_member (void)
{
  /* gzip allows members back to back (cat a.gz b.gz); the inflated bytes
   * are the concatenation. */
  g_autoptr(GByteArray) whole = make_images (2051, 3, 28, 28, 3 * 784);
  g_autoptr(GBytes) first = gzip_bytes (whole->data, 1000);
  g_autoptr(GBytes) second = gzip_bytes (whole->data + 1000, whole->len - 1000);
  GByteArray *joined = g_byte_array_new ();
  g_autofree char *images = NULL;
  g_autofree char *labels = write_good_labels (FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(NnDataset) dataset = NULL;
  gsize len;
  const guint8 *data;

  data = g_bytes_get_data (first, &len);
  g_byte_array_append (joined, data, len);
  data = g_bytes_get_data (second, &len);
  g_byte_array_append (joined, data, len);
  images = write_file ("multi-member", joined, FALSE);

  dataset = nn_dataset_load_idx (images, labels, &error);
  g_assert_no_error (error);
  check_good_dataset (dataset);
}

static void
test_subset (void)
{
  g_autofree char *images = write_good_images (FALSE);
  g_autofree char *labels = write_good_labels (FALSE);
  g_autoptr(NnDataset) dataset = nn_dataset_load_idx (images, labels, NULL);
  g_autoptr(NnDataset) subset = nn_dataset_subset (dataset, 1, 2);

  g_assert_cmpuint (subset->count, ==, 2);
  g_assert_cmpmem (subset->labels, 2, good_labels + 1, 2);
  g_assert_cmpmem (subset->images, 2 * 784, dataset->images + 784, 2 * 784);
}

/* ---- Bad files ---------------------------------------------------------- */

static void
test_missing (void)
{
  g_autofree char *labels = write_good_labels (FALSE);
  g_autofree char *absent = g_build_filename (tmp_dir, "no-such-file", NULL);
  g_autofree char *message = expect_error (absent, labels, NN_ERROR_IDX_MISSING);
  g_autofree char *empty_dir = g_build_filename (tmp_dir, "empty", NULL);
  g_autoptr(GError) error = NULL;
  NnDataset *train = NULL, *test = NULL;

  assert_names_file (message, absent);

  g_assert_cmpint (g_mkdir (empty_dir, 0700), ==, 0);
  g_assert_false (nn_dataset_load_dir (empty_dir, &train, &test, &error));
  g_assert_error (error, NN_ERROR, NN_ERROR_IDX_MISSING);
  g_assert_null (train);
  g_assert_null (test);
  /* It says what it looked for, where, and where to get MNIST. */
  g_assert_nonnull (strstr (error->message, "train-images-idx3-ubyte"));
  g_assert_nonnull (strstr (error->message, "t10k-labels-idx1-ubyte"));
  g_assert_nonnull (strstr (error->message, "empty"));
  g_assert_nonnull (strstr (error->message, "README"));
  g_rmdir (empty_dir);
}

static void
test_compression (void)
{
  g_autoptr(GByteArray) images = make_images (2051, 3, 28, 28, 3 * 784);
  g_autoptr(GBytes) compressed = gzip_bytes (images->data, images->len);
  g_autofree char *labels = write_good_labels (FALSE);
  gsize len;
  const guint8 *data = g_bytes_get_data (compressed, &len);
  GByteArray *cut, *flipped, *garbage;
  g_autofree char *cut_path = NULL, *flipped_path = NULL, *garbage_path = NULL;
  g_autofree char *m1 = NULL, *m2 = NULL, *m3 = NULL;

  /* A stream cut in the middle. */
  cut = g_byte_array_new ();
  g_byte_array_append (cut, data, len / 2);
  cut_path = write_file ("cut.gz", cut, FALSE);
  m1 = expect_error (cut_path, labels, NN_ERROR_IDX_COMPRESSION);
  assert_names_file (m1, cut_path);

  /* A damaged byte: either the deflate data or the CRC catches it. */
  flipped = g_byte_array_new ();
  g_byte_array_append (flipped, data, len);
  flipped->data[len / 2] ^= 0x55;
  flipped_path = write_file ("flipped.gz", flipped, FALSE);
  m2 = expect_error (flipped_path, labels, NN_ERROR_IDX_COMPRESSION);

  /* Garbage after the last member. */
  garbage = g_byte_array_new ();
  g_byte_array_append (garbage, data, len);
  g_byte_array_append (garbage, (const guint8 *) "junk", 4);
  garbage_path = write_file ("garbage.gz", garbage, FALSE);
  m3 = expect_error (garbage_path, labels, NN_ERROR_IDX_COMPRESSION);
}

static void
test_magic (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *labels = write_good_labels (gzipped);
      g_autofree char *wrong = write_file ("wrong-magic", make_images (2050, 3, 28, 28, 3 * 784), gzipped);
      g_autofree char *m1 = expect_error (wrong, labels, NN_ERROR_IDX_MAGIC);
      g_autofree char *m2 = expect_error (labels, labels, NN_ERROR_IDX_MAGIC);
      g_autofree char *m3 = expect_error (images, images, NN_ERROR_IDX_MAGIC);

      assert_names_file (m1, wrong);
      g_assert_nonnull (strstr (m1, "2050"));
      /* A label file given as images, and the other way round, are named as
       * what they are. */
      g_assert_nonnull (strstr (m2, "label file"));
      g_assert_nonnull (strstr (m3, "image file"));
    }
}

static void
test_dimensions (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      g_autofree char *labels = write_good_labels (gzipped);
      g_autofree char *empty_labels = write_file ("empty-labels", make_labels (2049, 0, NULL, 0), gzipped);
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *small = write_file ("small", make_images (2051, 3, 27, 28, 3 * 27 * 28), gzipped);
      g_autofree char *wide = write_file ("wide", make_images (2051, 3, 28, 29, 3 * 28 * 29), gzipped);
      g_autofree char *none = write_file ("none", make_images (2051, 0, 28, 28, 0), gzipped);
      g_autofree char *m1 = expect_error (small, labels, NN_ERROR_IDX_DIMENSIONS);
      g_autofree char *m2 = expect_error (wide, labels, NN_ERROR_IDX_DIMENSIONS);
      g_autofree char *m3 = expect_error (none, labels, NN_ERROR_IDX_DIMENSIONS);
      g_autofree char *m4 = expect_error (images, empty_labels, NN_ERROR_IDX_DIMENSIONS);

      g_assert_nonnull (strstr (m1, "27x28"));
      assert_names_file (m4, empty_labels);
    }
}

static void
test_truncated (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      g_autofree char *labels = write_good_labels (gzipped);
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *short_data = write_file ("short-data", make_images (2051, 3, 28, 28, 2 * 784 + 100), gzipped);
      g_autofree char *short_labels = write_file ("short-labels", make_labels (2049, 4, good_labels, 3), gzipped);
      GByteArray *header_only = make_images (2051, 3, 28, 28, 0);
      g_autofree char *short_header = NULL;
      g_autofree char *m1 = expect_error (short_data, labels, NN_ERROR_IDX_TRUNCATED);
      g_autofree char *m2 = expect_error (images, short_labels, NN_ERROR_IDX_TRUNCATED);
      g_autofree char *m3 = NULL;

      g_byte_array_set_size (header_only, 10);
      short_header = write_file ("short-header", header_only, gzipped);
      m3 = expect_error (short_header, labels, NN_ERROR_IDX_TRUNCATED);
      assert_names_file (m1, short_data);
      assert_names_file (m2, short_labels);
    }
}

static void
test_trailing (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      static const guint8 four_labels[4] = { 1, 0, 9, 3 };
      g_autofree char *labels = write_good_labels (gzipped);
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *long_data = write_file ("long-data", make_images (2051, 3, 28, 28, 3 * 784 + 1), gzipped);
      g_autofree char *long_labels = write_file ("long-labels", make_labels (2049, 3, four_labels, 4), gzipped);
      g_autofree char *m1 = expect_error (long_data, labels, NN_ERROR_IDX_TRAILING);
      g_autofree char *m2 = expect_error (images, long_labels, NN_ERROR_IDX_TRAILING);

      assert_names_file (m1, long_data);
    }
}

static void
test_label_range (void)
{
  for (int gzipped = 0; gzipped <= 1; gzipped++)
    {
      static const guint8 bad[3] = { 1, 10, 200 };
      g_autofree char *images = write_good_images (gzipped);
      g_autofree char *labels = write_file ("bad-labels", make_labels (2049, 3, bad, 3), gzipped);
      g_autofree char *message = expect_error (images, labels, NN_ERROR_IDX_LABEL_RANGE);

      /* The first bad one, by index and value. */
      g_assert_nonnull (strstr (message, "label 1 is 10"));
      assert_names_file (message, labels);
    }
}

static void
test_count_mismatch (void)
{
  g_autofree char *images = write_good_images (TRUE);
  g_autofree char *labels = write_file ("two-labels", make_labels (2049, 2, good_labels, 2), FALSE);
  g_autofree char *message = expect_error (images, labels, NN_ERROR_IDX_COUNT_MISMATCH);

  g_assert_nonnull (strstr (message, "3 images"));
  g_assert_nonnull (strstr (message, "2 labels"));
}

static void
test_load_dir (void)
{
  /* Standard names, some plain and some gzipped, in their own folder. */
  g_autofree char *dir = g_build_filename (tmp_dir, "standard", NULL);
  static const guint8 test_labels[2] = { 7, 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(NnDataset) train = NULL;
  g_autoptr(NnDataset) test = NULL;
  g_autoptr(NnDataset) only_test = NULL;
  char *paths[4];

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  paths[0] = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
  paths[1] = g_build_filename (dir, "train-labels-idx1-ubyte", NULL);
  paths[2] = g_build_filename (dir, "t10k-images-idx3-ubyte", NULL);
  paths[3] = g_build_filename (dir, "t10k-labels-idx1-ubyte.gz", NULL);
  {
    g_autoptr(GByteArray) a = make_images (2051, 3, 28, 28, 3 * 784);
    g_autoptr(GByteArray) b = make_labels (2049, 3, good_labels, 3);
    g_autoptr(GByteArray) c = make_images (2051, 2, 28, 28, 2 * 784);
    g_autoptr(GByteArray) d = make_labels (2049, 2, test_labels, 2);
    g_autoptr(GBytes) az = gzip_bytes (a->data, a->len);
    g_autoptr(GBytes) dz = gzip_bytes (d->data, d->len);

    write_test_file (paths[0], g_bytes_get_data (az, NULL), g_bytes_get_size (az), &error);
    g_assert_no_error (error);
    write_test_file (paths[1], b->data, b->len, &error);
    g_assert_no_error (error);
    write_test_file (paths[2], c->data, c->len, &error);
    g_assert_no_error (error);
    write_test_file (paths[3], g_bytes_get_data (dz, NULL), g_bytes_get_size (dz), &error);
    g_assert_no_error (error);
  }

  g_assert_true (nn_dataset_load_dir (dir, &train, &test, &error));
  g_assert_no_error (error);
  check_good_dataset (train);
  g_assert_cmpuint (test->count, ==, 2);
  g_assert_cmpmem (test->labels, 2, test_labels, 2);

  /* Only the half that is asked for is loaded. */
  g_assert_true (nn_dataset_load_dir (dir, NULL, &only_test, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (only_test->count, ==, 2);

  for (int i = 0; i < 4; i++)
    {
      g_unlink (paths[i]);
      g_free (paths[i]);
    }
  g_rmdir (dir);
}

/* ---- Real data sets ----------------------------------------------------- */

static void
check_real_dataset (const char *dir, guint8 first_train_label, guint8 first_test_label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnDataset) train = NULL;
  g_autoptr(NnDataset) test = NULL;
  gint64 start = g_get_monotonic_time ();
  guint counts[NN_CLASSES] = { 0 };

  g_assert_true (nn_dataset_load_dir (dir, &train, &test, &error));
  g_assert_no_error (error);
  g_test_message ("loaded %s in %.2f s", dir, (g_get_monotonic_time () - start) / 1e6);

  g_assert_cmpuint (train->count, ==, 60000);
  g_assert_cmpuint (test->count, ==, 10000);
  g_assert_cmpuint (train->labels[0], ==, first_train_label);
  g_assert_cmpuint (test->labels[0], ==, first_test_label);
  /* Every class is there in roughly its share. */
  for (guint i = 0; i < test->count; i++)
    counts[test->labels[i]]++;
  for (guint c = 0; c < NN_CLASSES; c++)
    g_assert_cmpuint (counts[c], >, 800);
}

static void
test_mnist (void)
{
  const char *dir = g_getenv ("DIGITLAB_MNIST_DIR");

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("MNIST not found (set DIGITLAB_MNIST_DIR)");
      return;
    }
  /* MNIST's first training digit is a 5, its first test digit a 7. */
  check_real_dataset (dir, 5, 7);
}

static void
test_fashion_mnist (void)
{
  const char *dir = "/usr/share/datasets/fashion-mnist";

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)");
      return;
    }
  /* Both sets start with an ankle boot, class 9. */
  check_real_dataset (dir, 9, 9);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("digitlab-test-idx-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/idx/valid", test_valid);
  g_test_add_func ("/idx/gzip-multi-member", test_gzip_multi_member);
  g_test_add_func ("/idx/subset", test_subset);
  g_test_add_func ("/idx/missing", test_missing);
  g_test_add_func ("/idx/compression", test_compression);
  g_test_add_func ("/idx/magic", test_magic);
  g_test_add_func ("/idx/dimensions", test_dimensions);
  g_test_add_func ("/idx/truncated", test_truncated);
  g_test_add_func ("/idx/trailing", test_trailing);
  g_test_add_func ("/idx/label-range", test_label_range);
  g_test_add_func ("/idx/count-mismatch", test_count_mismatch);
  g_test_add_func ("/idx/load-dir", test_load_dir);
  g_test_add_func ("/idx/mnist", test_mnist);
  g_test_add_func ("/idx/fashion-mnist", test_fashion_mnist);

  result = g_test_run ();

  /* Everything the tests wrote sits directly in tmp_dir. */
  {
    g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
        g_unlink (path);
      }
  }
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return result;
}
