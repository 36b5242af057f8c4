/* digit-training-data.c — loading MNIST-format data sets for the training
 * page, off the main thread (decompressing 60,000 images takes about a
 * second), and knowing where to look for them.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-background.h"
#include "digit-training-data.h"

struct _DigitTrainingData
{
  GObject            parent_instance;

  NnDataset         *train;
  NnDataset         *test;       /* NULL when borrowed from @parent or absent */
  DigitTrainingData *parent;     /* the full set, for a limited one */
  char              *folder;
  char              *name;
};

G_DEFINE_FINAL_TYPE (DigitTrainingData, digit_training_data, G_TYPE_OBJECT)

static const char *const file_names[] = {
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
};

char *
digit_training_data_user_folder (void)
{
  return g_build_filename (g_get_user_data_dir (), "digitlab", "mnist", NULL);
}

gboolean
digit_training_data_folder_has_files (const char *folder)
{
  g_return_val_if_fail (folder != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (file_names); i++)
    {
      g_autofree char *plain = g_build_filename (folder, file_names[i], NULL);
      g_autofree char *gzipped = g_strconcat (plain, ".gz", NULL);

      if (!g_file_test (plain, G_FILE_TEST_IS_REGULAR) && !g_file_test (gzipped, G_FILE_TEST_IS_REGULAR))
        return FALSE;
    }
  return TRUE;
}

char *
digit_training_data_default_folder (void)
{
  const char *from_environment = g_getenv ("DIGITLAB_MNIST_DIR");
  g_autofree char *user_folder = digit_training_data_user_folder ();

  if (from_environment != NULL && *from_environment != '\0')
    return g_strdup (from_environment);
  if (g_file_test (user_folder, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&user_folder);
  /* For developers: the folder beside the source tree. */
  if (digit_training_data_folder_has_files (MNIST_DEFAULT_DIR))
    return g_strdup (MNIST_DEFAULT_DIR);
  return g_steal_pointer (&user_folder);
}

typedef struct {
  char *folder;
  char *name;
} LoadRequest;

static void
load_request_free (gpointer data)
{
  LoadRequest *request = data;

  g_free (request->folder);
  g_free (request->name);
  g_free (request);
}

static void
load_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  LoadRequest *request = task_data;
  g_autoptr(NnDataset) train = NULL;
  g_autoptr(NnDataset) test = NULL;
  GError *error = NULL;
  DigitTrainingData *data;

  if (!g_file_test (request->folder, G_FILE_TEST_IS_DIR))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("The folder “%s” does not exist."), request->folder);
      return;
    }
  if (!nn_dataset_load_dir (request->folder, &train, &test, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  data = g_object_new (DIGIT_TYPE_TRAINING_DATA, NULL);
  data->train = g_steal_pointer (&train);
  data->test = g_steal_pointer (&test);
  data->folder = g_strdup (request->folder);
  data->name = g_strdup (request->name);
  g_task_return_pointer (task, data, g_object_unref);
}

void
digit_training_data_load_async (const char          *folder,
                                const char          *name,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadRequest *request;

  g_return_if_fail (folder != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, digit_training_data_load_async);
  request = g_new0 (LoadRequest, 1);
  request->folder = g_strdup (folder);
  request->name = g_strdup (name != NULL ? name : folder);
  g_task_set_task_data (task, request, load_request_free);
  digit_background_run_task (task, load_in_thread);
}

DigitTrainingData *
digit_training_data_load_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

DigitTrainingData *
digit_training_data_limit (DigitTrainingData *self,
                           guint              n_train)
{
  DigitTrainingData *limited;

  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), NULL);

  if (n_train == 0 || n_train >= self->train->count)
    return g_object_ref (self);

  limited = g_object_new (DIGIT_TYPE_TRAINING_DATA, NULL);
  limited->train = nn_dataset_subset (self->train, 0, n_train);
  limited->parent = g_object_ref (self->parent != NULL ? self->parent : self);
  limited->folder = g_strdup (self->folder);
  limited->name = g_strdup (self->name);
  return limited;
}

const NnDataset *
digit_training_data_get_train (DigitTrainingData *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), NULL);

  return self->train;
}

const NnDataset *
digit_training_data_get_test (DigitTrainingData *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), NULL);

  return self->parent != NULL ? self->parent->test : self->test;
}

const char *
digit_training_data_get_folder (DigitTrainingData *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), NULL);

  return self->folder;
}

const char *
digit_training_data_get_name (DigitTrainingData *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), NULL);

  return self->name;
}

guint
digit_training_data_get_full_train_count (DigitTrainingData *self)
{
  g_return_val_if_fail (DIGIT_IS_TRAINING_DATA (self), 0);

  return self->parent != NULL ? self->parent->train->count : self->train->count;
}

static void
digit_training_data_finalize (GObject *object)
{
  DigitTrainingData *self = DIGIT_TRAINING_DATA (object);

  g_clear_pointer (&self->train, nn_dataset_free);
  g_clear_pointer (&self->test, nn_dataset_free);
  g_clear_object (&self->parent);
  g_free (self->folder);
  g_free (self->name);

  G_OBJECT_CLASS (digit_training_data_parent_class)->finalize (object);
}

static void
digit_training_data_class_init (DigitTrainingDataClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = digit_training_data_finalize;
}

static void
digit_training_data_init (DigitTrainingData *self)
{
}
