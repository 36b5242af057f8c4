/* digit-checkpoint.c — where the interrupted run is kept, and its JSON
 * description.
 *
 * The description is written after the engine's checkpoint of the same
 * epoch, so after a crash it may be one epoch behind, never ahead: the
 * engine's file decides where training continues, and only a curve's last
 * epoch can be missing.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "digit-checkpoint.h"

#define INFO_VERSION 1

static char *
state_folder (void)
{
  return g_build_filename (g_get_user_state_dir (), "digitlab", NULL);
}

char *
digit_checkpoint_path (void)
{
  g_autofree char *folder = state_folder ();

  return g_build_filename (folder, "checkpoint.safetensors", NULL);
}

static char *
info_path (void)
{
  g_autofree char *folder = state_folder ();

  return g_build_filename (folder, "checkpoint.json", NULL);
}

DigitCheckpointInfo *
digit_checkpoint_info_new (void)
{
  DigitCheckpointInfo *info = g_new0 (DigitCheckpointInfo, 1);

  nn_train_config_init (&info->config);
  info->losses = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  info->train_accuracy = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  info->test_accuracy = g_array_new (FALSE, FALSE, sizeof (DigitPlotPoint));
  return info;
}

void
digit_checkpoint_info_free (DigitCheckpointInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->data_folder);
  g_free (info->data_name);
  g_free (info->spec);
  g_array_unref (info->losses);
  g_array_unref (info->train_accuracy);
  g_array_unref (info->test_accuracy);
  g_free (info);
}

/* ---- JSON ---------------------------------------------------------------------- */

static void
append_number (GString *out,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no NaN: a loss that was not a number is kept as null. */
  if (!isfinite (value))
    g_string_append (out, "null");
  else
    g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static void
append_string (GString    *out,
               const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text != NULL ? text : "");
  g_autofree char *quoted = json_to_string (node, FALSE);

  g_string_append (out, quoted);
}

static void
append_points (GString      *out,
               const char   *key,
               const GArray *points)
{
  g_string_append_printf (out, ",\n  \"%s\": [", key);
  for (guint i = 0; i < points->len; i++)
    {
      const DigitPlotPoint *p = &g_array_index (points, DigitPlotPoint, i);

      g_string_append (out, i > 0 ? ",[" : "[");
      append_number (out, p->x);
      g_string_append_c (out, ',');
      append_number (out, p->y);
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, ']');
}

/* Written by hand rather than with a JsonBuilder: tens of thousands of
 * loss values serialise in a millisecond this way. */
char *
digit_checkpoint_info_to_json (const DigitCheckpointInfo *info)
{
  GString *out = g_string_sized_new (4096 + info->losses->len * 24);
  const NnTrainConfig *c = &info->config;

  g_string_append_printf (out, "{\n  \"version\": %d,\n  \"name\": ", INFO_VERSION);
  append_string (out, info->name);
  g_string_append (out, ",\n  \"data_folder\": ");
  append_string (out, info->data_folder);
  g_string_append (out, ",\n  \"data_name\": ");
  append_string (out, info->data_name);
  g_string_append_printf (out, ",\n  \"train_limit\": %u,\n  \"spec\": ", info->train_limit);
  append_string (out, info->spec);
  g_string_append_printf (out, ",\n  \"color_index\": %u,\n  \"epochs_done\": %u,\n  \"seconds\": ",
                          info->color_index, info->epochs_done);
  append_number (out, info->seconds);

  g_string_append_printf (out, ",\n  \"config\": {\"epochs\": %u, \"batch_size\": %u, \"learning_rate\": ",
                          c->epochs, c->batch_size);
  append_number (out, c->learning_rate);
  g_string_append (out, ", \"optimizer\": ");
  append_string (out, nn_optimizer_to_string (c->optimizer));
  g_string_append (out, ", \"momentum\": ");
  append_number (out, c->momentum);
  g_string_append (out, ", \"weight_decay\": ");
  append_number (out, c->weight_decay);
  g_string_append (out, ", \"schedule\": ");
  append_string (out, nn_schedule_to_string (c->schedule));
  /* As text: a 64-bit seed does not survive a double. */
  g_string_append_printf (out, ", \"seed\": \"%" G_GUINT64_FORMAT "\", \"augment\": %s, "
                          "\"digit_styles\": %s, \"label_smoothing\": ",
                          c->seed, c->augment ? "true" : "false", c->digit_styles ? "true" : "false");
  append_number (out, c->label_smoothing);
  g_string_append_c (out, '}');

  append_points (out, "losses", info->losses);
  append_points (out, "train_accuracy", info->train_accuracy);
  append_points (out, "test_accuracy", info->test_accuracy);
  g_string_append (out, "\n}\n");
  return g_string_free (out, FALSE);
}

static gboolean
read_points (JsonObject  *object,
             const char  *key,
             GArray      *points,
             GError     **error)
{
  JsonArray *array;

  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto bad;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonArray *pair;
      JsonNode *x, *y;
      DigitPlotPoint point;

      if (!JSON_NODE_HOLDS_ARRAY (element))
        goto bad;
      pair = json_node_get_array (element);
      if (json_array_get_length (pair) != 2)
        goto bad;
      x = json_array_get_element (pair, 0);
      y = json_array_get_element (pair, 1);
      if (json_node_get_value_type (x) != G_TYPE_DOUBLE && json_node_get_value_type (x) != G_TYPE_INT64)
        goto bad;
      point.x = json_node_get_double (x);
      if (JSON_NODE_HOLDS_NULL (y))
        point.y = NAN;
      else if (json_node_get_value_type (y) == G_TYPE_DOUBLE || json_node_get_value_type (y) == G_TYPE_INT64)
        point.y = json_node_get_double (y);
      else
        goto bad;
      g_array_append_val (points, point);
    }
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("The interrupted run’s “%s” is not a list of points."), key);
  return FALSE;
}

DigitCheckpointInfo *
digit_checkpoint_info_from_json (const char  *json,
                                 GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(DigitCheckpointInfo) info = NULL;
  JsonObject *root, *config;
  JsonNode *node;
  const char *text;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return NULL;
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  root = json_node_get_object (node);
  if (json_object_get_int_member_with_default (root, "version", 0) != INFO_VERSION)
    goto bad;
  node = json_object_get_member (root, "config");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  config = json_node_get_object (node);

  info = digit_checkpoint_info_new ();
  info->name = g_strdup (json_object_get_string_member_with_default (root, "name", ""));
  info->data_folder = g_strdup (json_object_get_string_member_with_default (root, "data_folder", ""));
  info->data_name = g_strdup (json_object_get_string_member_with_default (root, "data_name", ""));
  info->train_limit = json_object_get_int_member_with_default (root, "train_limit", 0);
  info->spec = g_strdup (json_object_get_string_member_with_default (root, "spec", ""));
  info->color_index = json_object_get_int_member_with_default (root, "color_index", 0);
  info->epochs_done = json_object_get_int_member_with_default (root, "epochs_done", 0);
  info->seconds = json_object_get_double_member_with_default (root, "seconds", 0.0);

  info->config.epochs = json_object_get_int_member_with_default (config, "epochs", 1);
  info->config.batch_size = json_object_get_int_member_with_default (config, "batch_size", 64);
  info->config.learning_rate = json_object_get_double_member_with_default (config, "learning_rate", 1e-3);
  info->config.momentum = json_object_get_double_member_with_default (config, "momentum", 0.9);
  info->config.weight_decay = json_object_get_double_member_with_default (config, "weight_decay", 0.0);
  info->config.label_smoothing = json_object_get_double_member_with_default (config, "label_smoothing", 0.0);
  info->config.augment = json_object_get_boolean_member_with_default (config, "augment", FALSE);
  info->config.digit_styles = json_object_get_boolean_member_with_default (config, "digit_styles", FALSE);
  text = json_object_get_string_member_with_default (config, "optimizer", "adam");
  if (!nn_optimizer_from_string (text, &info->config.optimizer))
    goto bad;
  text = json_object_get_string_member_with_default (config, "schedule", "constant");
  if (!nn_schedule_from_string (text, &info->config.schedule))
    goto bad;
  text = json_object_get_string_member_with_default (config, "seed", "1");
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &info->config.seed, NULL))
    goto bad;

  if (!read_points (root, "losses", info->losses, error)
      || !read_points (root, "train_accuracy", info->train_accuracy, error)
      || !read_points (root, "test_accuracy", info->test_accuracy, error))
    return NULL;
  if (*info->data_folder == '\0' || *info->spec == '\0')
    goto bad;
  return g_steal_pointer (&info);

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("The description of the interrupted run is damaged."));
  return NULL;
}

/* ---- The writer thread ------------------------------------------------------------ */

typedef struct {
  DigitCheckpointInfo *info;       /* NULL: discard */
} Job;

static GMutex sync_lock;
static GCond sync_cond;
static guint jobs_pending;

static void
write_info (DigitCheckpointInfo *info)
{
  g_autofree char *folder = state_folder ();
  g_autofree char *path = info_path ();
  g_autofree char *json = digit_checkpoint_info_to_json (info);
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      g_warning ("Could not create %s: %s", folder, g_strerror (errno));
      return;
    }
  if (!g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("Could not write the training run’s description: %s", error->message);
}

static void
discard_files (void)
{
  g_autofree char *checkpoint = digit_checkpoint_path ();
  g_autofree char *info = info_path ();

  /* The description first: without it there is nothing to offer. */
  if (g_unlink (info) != 0 && errno != ENOENT)
    g_warning ("Could not delete %s: %s", info, g_strerror (errno));
  if (g_unlink (checkpoint) != 0 && errno != ENOENT)
    g_warning ("Could not delete %s: %s", checkpoint, g_strerror (errno));
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job *job = data;

  if (job->info != NULL)
    write_info (job->info);
  else
    discard_files ();
  digit_checkpoint_info_free (job->info);
  g_free (job);

  g_mutex_lock (&sync_lock);
  jobs_pending--;
  g_cond_broadcast (&sync_cond);
  g_mutex_unlock (&sync_lock);
}

static GThreadPool *
writer (void)
{
  static GThreadPool *pool;

  /* One thread: jobs run one at a time, in the order they came. */
  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (run_job, NULL, 1, FALSE, NULL));
  return pool;
}

static void
push (Job *job)
{
  g_mutex_lock (&sync_lock);
  jobs_pending++;
  g_mutex_unlock (&sync_lock);
  g_thread_pool_push (writer (), job, NULL);
}

void
digit_checkpoint_save_info (DigitCheckpointInfo *info)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (info != NULL);

  job->info = info;
  push (job);
}

void
digit_checkpoint_discard (void)
{
  push (g_new0 (Job, 1));
}

void
digit_checkpoint_sync (void)
{
  g_mutex_lock (&sync_lock);
  while (jobs_pending > 0)
    g_cond_wait (&sync_cond, &sync_lock);
  g_mutex_unlock (&sync_lock);
}

DigitCheckpointInfo *
digit_checkpoint_find (GError **error)
{
  g_autofree char *checkpoint = digit_checkpoint_path ();
  g_autofree char *path = info_path ();
  g_autofree char *json = NULL;

  if (!g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR) || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  if (!g_file_get_contents (path, &json, NULL, error))
    return NULL;
  return digit_checkpoint_info_from_json (json, error);
}
