/* cli-predict.c — digitlab-cli predict: recognise the digit in image files,
 * or in recorded drawings (--strokes, one JSON drawing per line) rendered
 * by the very code the app's canvas uses. Inputs are classified in batches
 * and answered in input order. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-common.h"
#include "cli-image.h"

/* Inputs per forward pass: large enough to keep the engine's threads busy,
 * small enough to answer a streamed input without a noticeable delay. */
#define PREDICT_BATCH 256

typedef struct {
  char *file;       /* the image's name; NULL for a drawing */
  char *error;      /* why there is no answer, or NULL */
} PredictItem;

/* Inputs waiting for one forward pass, and how to print their answers. */
typedef struct {
  NnModel  *model;
  gboolean  json;
  GArray   *items;       /* PredictItem, in input order */
  float    *images;      /* PREDICT_BATCH images: the valid items, in order */
  guint     n_images;
  float    *probs;
  guint     n_failed;
} Predictor;

static void
predict_item_clear (gpointer data)
{
  PredictItem *item = data;

  g_free (item->file);
  g_free (item->error);
}

static void
predictor_init (Predictor *self, NnModel *model, gboolean json)
{
  self->model = model;
  self->json = json;
  self->items = g_array_sized_new (FALSE, TRUE, sizeof (PredictItem), PREDICT_BATCH);
  g_array_set_clear_func (self->items, predict_item_clear);
  self->images = g_new (float, (gsize) PREDICT_BATCH * NN_IMAGE_PIXELS);
  self->n_images = 0;
  self->probs = g_new (float, (gsize) PREDICT_BATCH * NN_CLASSES);
  self->n_failed = 0;
}

static void
predictor_clear (Predictor *self)
{
  g_array_unref (self->items);
  g_free (self->images);
  g_free (self->probs);
}

static void
print_answer (const Predictor *self, const PredictItem *item, const float *probs)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint digit = probs != NULL ? cli_argmax (probs) : 0;

  if (!self->json)
    {
      if (item->error != NULL)
        {
          cli_fail ("%s: %s", item->file, item->error);
          return;
        }
      g_string_append_printf (out, "%s: %u (%.2f)  [", item->file, digit, probs[digit]);
      for (guint i = 0; i < NN_CLASSES; i++)
        g_string_append_printf (out, i > 0 ? " %.3f" : "%.3f", probs[i]);
      g_string_append (out, "]\n");
      fputs (out->str, stdout);
      return;
    }

  g_string_append_c (out, '{');
  if (item->file != NULL)
    {
      g_string_append (out, "\"file\": ");
      cli_json_append_string (out, item->file);
      g_string_append (out, ", ");
    }
  if (item->error != NULL)
    {
      g_string_append (out, "\"digit\": null, \"error\": ");
      cli_json_append_string (out, item->error);
    }
  else
    {
      g_string_append_printf (out, "\"digit\": %u, \"confidence\": ", digit);
      cli_json_append_float (out, probs[digit]);
      g_string_append (out, ", \"probabilities\": ");
      cli_json_append_probabilities (out, probs);
    }
  g_string_append (out, "}\n");
  fputs (out->str, stdout);

  /* Named files that fail are failures of the command, so they are also
   * reported where errors go; a drawing's error is part of its answer. */
  if (item->error != NULL && item->file != NULL)
    cli_fail ("%s: %s", item->file, item->error);
}

/* Classifies the waiting images and prints every waiting answer in order. */
static void
predictor_flush (Predictor *self)
{
  guint next_image = 0;

  if (self->n_images > 0)
    nn_model_predict (self->model, self->images, self->n_images, self->probs);

  for (guint i = 0; i < self->items->len; i++)
    {
      const PredictItem *item = &g_array_index (self->items, PredictItem, i);
      const float *probs = NULL;

      if (item->error == NULL)
        probs = self->probs + (gsize) next_image++ * NN_CLASSES;
      print_answer (self, item, probs);
    }
  fflush (stdout);
  g_array_set_size (self->items, 0);
  self->n_images = 0;
}

/* Where the next input's 28x28 image goes. Call predictor_add or
 * predictor_add_error after filling it (or failing to). */
static float *
predictor_next_image (Predictor *self)
{
  return self->images + (gsize) self->n_images * NN_IMAGE_PIXELS;
}

static void
predictor_add (Predictor *self, const char *file)
{
  PredictItem item = { g_strdup (file), NULL };

  g_array_append_val (self->items, item);
  if (++self->n_images == PREDICT_BATCH)
    predictor_flush (self);
}

static void
predictor_add_error (Predictor *self, const char *file, const char *error)
{
  PredictItem item = { g_strdup (file), g_strdup (error) };

  g_array_append_val (self->items, item);
  self->n_failed++;
  /* Errors hold no image, so bound the queue of answers as well. */
  if (self->items->len >= 4 * PREDICT_BATCH)
    predictor_flush (self);
}

/* ---- Image files ------------------------------------------------------ */

static void
predict_image_file (Predictor *self, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_autofree float *ink = NULL;
  guint width, height;

  if (pixbuf == NULL)
    {
      predictor_add_error (self, path, error->message);
      return;
    }
  ink = cli_image_to_ink (pixbuf, &width, &height);
  if (!nn_preprocess (ink, width, height, predictor_next_image (self), &error))
    predictor_add_error (self, path, error->message);
  else
    predictor_add (self, path);
}

/* ---- Recorded drawings (--strokes) ------------------------------------ */

static void
predict_drawing_line (Predictor *self, const char *line, guint line_number)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnDrawing) drawing = nn_drawing_from_json (line, &error);

  if (drawing == NULL || !nn_drawing_to_image (drawing, predictor_next_image (self), &error))
    {
      g_autofree char *message = g_strdup_printf (_("line %u: %s"), line_number, error->message);

      predictor_add_error (self, NULL, message);
      return;
    }
  predictor_add (self, NULL);
}

/* TRUE when a read from @fd would not block: then more input is already
 * there to join the batch; otherwise the waiting answers go out now, so a
 * program feeding drawings one at a time gets each answer straight away. */
static gboolean
input_ready (int fd)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };

  return poll (&pfd, 1, 0) > 0;
}

static gboolean
is_blank (const char *line)
{
  for (; *line != '\0'; line++)
    if (!g_ascii_isspace (*line))
      return FALSE;
  return TRUE;
}

static gboolean
predict_strokes (Predictor *self, const char *path, GError **error)
{
  g_autoptr(GString) pending = g_string_new (NULL);
  gboolean from_stdin = strcmp (path, "-") == 0;
  int fd = from_stdin ? STDIN_FILENO : g_open (path, O_RDONLY, 0);
  guint line_number = 0;
  gboolean ok = TRUE;
  char chunk[65536];

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "%s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  for (;;)
    {
      gssize n = read (fd, chunk, sizeof chunk);
      char *line;
      char *newline;
      gsize consumed = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "%s: %s", from_stdin ? _("standard input") : path,
                       g_strerror (saved_errno));
          ok = FALSE;
          break;
        }
      if (n == 0)
        {
          /* The last line may lack its newline. */
          if (!is_blank (pending->str))
            predict_drawing_line (self, pending->str, line_number + 1);
          break;
        }

      g_string_append_len (pending, chunk, n);
      line = pending->str;
      while ((newline = memchr (line, '\n', pending->len - consumed)) != NULL)
        {
          *newline = '\0';
          line_number++;
          if (!is_blank (line))
            predict_drawing_line (self, line, line_number);
          consumed += newline + 1 - line;
          line = newline + 1;
        }
      g_string_erase (pending, 0, consumed);

      if (self->items->len > 0 && !input_ready (fd))
        predictor_flush (self);
    }

  predictor_flush (self);
  if (!from_stdin)
    close (fd);
  return ok;
}

/* ---- The command ------------------------------------------------------ */

int
cli_predict_main (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *strokes_path = NULL;
  g_auto(GStrv) files = NULL;
  gboolean json = FALSE;
  int n_threads = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = NULL;
  Predictor predictor;
  int status = CLI_EXIT_OK;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      N_("Model file to use (default: the built-in model)"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object per image"), NULL },
    { "strokes", 's', 0, G_OPTION_ARG_FILENAME, &strokes_path,
      N_("Recognise recorded drawings, one JSON object per line (“-” reads standard input)"),
      N_("FILE.jsonl") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads,
      N_("Threads to use (default 0: all cores)"), N_("T") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("IMAGE…") },
    { NULL }
  };

  context = cli_option_context_new ("predict", _("IMAGE…"),
                                    _("Recognises the digit in each image (PNG, JPEG, …: dark "
                                      "ink on a light background or the reverse, or ink on a "
                                      "transparent background), or in each drawing of a "
                                      "--strokes file."),
                                    entries);
  if (!cli_parse_options (context, "predict", &argc, &argv))
    return CLI_EXIT_USAGE;
  if (strokes_path == NULL && files == NULL)
    return cli_usage ("predict", _("no input: give image files or --strokes FILE"));
  if (strokes_path != NULL && files != NULL)
    return cli_usage ("predict", _("give either image files or --strokes FILE, not both"));
  if (!cli_apply_threads ("predict", n_threads))
    return CLI_EXIT_USAGE;

  model = cli_load_model (model_path, &error);
  if (model == NULL)
    return cli_fail_error (error);

  /* Drawings are always answered in JSON: one line per drawing. */
  predictor_init (&predictor, model, json || strokes_path != NULL);
  if (strokes_path != NULL)
    {
      if (!predict_strokes (&predictor, strokes_path, &error))
        status = cli_fail_error (error);
    }
  else
    {
      for (guint i = 0; files[i] != NULL; i++)
        predict_image_file (&predictor, files[i]);
      predictor_flush (&predictor);
      if (predictor.n_failed > 0)
        status = CLI_EXIT_FAILURE;
    }
  predictor_clear (&predictor);
  return status;
}
