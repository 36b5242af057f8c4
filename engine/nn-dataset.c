/* nn-dataset.c — data sets: an IDX image file paired with its label file.
 *
 * Images stay as bytes in memory (MNIST's 60000 training images are 47 MB as
 * bytes, four times that as floats) and become floats one batch at a time. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "nn-idx.h"

NnDataset *
nn_dataset_load_idx (const char *images_path,
                     const char *labels_path,
                     GError    **error)
{
  g_autofree guint8 *images = NULL;
  g_autofree guint8 *labels = NULL;
  guint n_images, rows, cols, n_labels, one;
  NnDataset *dataset;

  g_return_val_if_fail (images_path != NULL, NULL);
  g_return_val_if_fail (labels_path != NULL, NULL);

  images = nn_idx_read (images_path, NN_IDX_IMAGES, &n_images, &rows, &cols, error);
  if (images == NULL)
    return NULL;
  labels = nn_idx_read (labels_path, NN_IDX_LABELS, &n_labels, &one, &one, error);
  if (labels == NULL)
    return NULL;

  if (n_images != n_labels)
    {
      g_autofree char *images_display = g_filename_display_name (images_path);
      g_autofree char *labels_display = g_filename_display_name (labels_path);
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_COUNT_MISMATCH,
                   _("“%s” holds %u images but “%s” holds %u labels"),
                   images_display, n_images, labels_display, n_labels);
      return NULL;
    }

  dataset = g_new0 (NnDataset, 1);
  dataset->images = g_steal_pointer (&images);
  dataset->labels = g_steal_pointer (&labels);
  dataset->count = n_images;
  dataset->rows = rows;
  dataset->cols = cols;
  return dataset;
}

/* The names MNIST is distributed under; some downloads spell the last dot
 * as a dash or the other way round, so both are accepted. */
static const char *const standard_names[][2] = {
  { "train-images-idx3-ubyte", "train-images.idx3-ubyte" },
  { "train-labels-idx1-ubyte", "train-labels.idx1-ubyte" },
  { "t10k-images-idx3-ubyte",  "t10k-images.idx3-ubyte" },
  { "t10k-labels-idx1-ubyte",  "t10k-labels.idx1-ubyte" },
};

enum { TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS };

static char *
find_standard_file (const char *dir, guint which, GError **error)
{
  for (guint spelling = 0; spelling < G_N_ELEMENTS (standard_names[which]); spelling++)
    {
      g_autofree char *plain = g_build_filename (dir, standard_names[which][spelling], NULL);
      g_autofree char *gzipped = g_strconcat (plain, ".gz", NULL);

      if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&plain);
      if (g_file_test (gzipped, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&gzipped);
    }

  {
    g_autofree char *display = g_filename_display_name (dir);
    g_set_error (error, NN_ERROR, NN_ERROR_IDX_MISSING,
                 _("There is no “%s” (nor “%s.gz”) in “%s”. A data folder "
                   "needs the four MNIST files train-images-idx3-ubyte, "
                   "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                   "t10k-labels-idx1-ubyte, gzipped or not. “Getting MNIST” "
                   "in Digit Lab's README (docs/mnist.md) says where to "
                   "download them; Debian's dataset-fashion-mnist package "
                   "installs Fashion-MNIST in /usr/share/datasets/fashion-mnist."),
                 standard_names[which][0], standard_names[which][0], display);
  }
  return NULL;
}

static NnDataset *
load_standard_pair (const char *dir, guint images, guint labels, GError **error)
{
  g_autofree char *images_path = find_standard_file (dir, images, error);
  g_autofree char *labels_path = NULL;

  if (images_path == NULL)
    return NULL;
  labels_path = find_standard_file (dir, labels, error);
  if (labels_path == NULL)
    return NULL;
  return nn_dataset_load_idx (images_path, labels_path, error);
}

/* Either of @train and @test may be NULL when the caller does not need that
 * half (evaluating needs only the test set). */
gboolean
nn_dataset_load_dir (const char  *dir,
                     NnDataset  **train,
                     NnDataset  **test,
                     GError     **error)
{
  g_autoptr(NnDataset) train_set = NULL;
  g_autoptr(NnDataset) test_set = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);

  if (train != NULL)
    {
      train_set = load_standard_pair (dir, TRAIN_IMAGES, TRAIN_LABELS, error);
      if (train_set == NULL)
        return FALSE;
    }
  if (test != NULL)
    {
      test_set = load_standard_pair (dir, TEST_IMAGES, TEST_LABELS, error);
      if (test_set == NULL)
        return FALSE;
    }

  if (train != NULL)
    *train = g_steal_pointer (&train_set);
  if (test != NULL)
    *test = g_steal_pointer (&test_set);
  return TRUE;
}

NnDataset *
nn_dataset_subset (const NnDataset *dataset, guint start, guint count)
{
  gsize pixels;
  NnDataset *subset;

  g_return_val_if_fail (dataset != NULL, NULL);
  g_return_val_if_fail (start <= dataset->count && count <= dataset->count - start, NULL);

  pixels = (gsize) dataset->rows * dataset->cols;
  subset = g_new0 (NnDataset, 1);
  subset->images = g_memdup2 (dataset->images + (gsize) start * pixels, (gsize) count * pixels);
  subset->labels = g_memdup2 (dataset->labels + start, count);
  subset->count = count;
  subset->rows = dataset->rows;
  subset->cols = dataset->cols;
  return subset;
}

void
nn_dataset_free (NnDataset *dataset)
{
  if (dataset == NULL)
    return;
  g_free (dataset->images);
  g_free (dataset->labels);
  g_free (dataset);
}

void
nn_dataset_get_image (const NnDataset *dataset, guint index, float *out)
{
  gsize pixels = (gsize) dataset->rows * dataset->cols;
  const guint8 *src;

  g_return_if_fail (index < dataset->count);

  src = dataset->images + (gsize) index * pixels;
  for (gsize i = 0; i < pixels; i++)
    out[i] = src[i] / 255.0f;   /* exactly rounded: 255 gives 1.0f */
}
