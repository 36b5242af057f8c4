/* digit-train-events.c — training events as JSON lines on standard output.
 *
 * Names typed by people are quoted by json-glib; numbers are written in
 * the C locale whatever the user's. Called on the main thread only, so
 * lines never interleave with the draw page's.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <json-glib/json-glib.h>

#include "digit-event-log.h"
#include "digit-train-events.h"

static GString *
begin (const char *event)
{
  GString *line = g_string_new ("{\"event\":");
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), event);
  g_autofree char *quoted = json_to_string (node, FALSE);

  g_string_append (line, quoted);
  return line;
}

static void
add_string (GString    *line,
            const char *name,
            const char *value)
{
  g_string_append_printf (line, ",\"%s\":", name);
  if (value != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), value);
      g_autofree char *quoted = json_to_string (node, FALSE);

      g_string_append (line, quoted);
    }
  else
    {
      g_string_append (line, "null");
    }
}

static void
add_int (GString    *line,
         const char *name,
         gint64      value)
{
  g_string_append_printf (line, ",\"%s\":%" G_GINT64_FORMAT, name, value);
}

/* Six significant digits, in the C locale whatever the user's; JSON has
 * no NaN, so an unknown value is null. */
static void
add_double (GString    *line,
            const char *name,
            double      value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (line, ",\"%s\":", name);
  if (!isfinite (value))
    g_string_append (line, "null");
  else
    g_string_append (line, g_ascii_formatd (buffer, sizeof buffer, "%.6g", value));
}

static void
finish (GString *line)
{
  g_string_append (line, "}\n");
  fwrite (line->str, 1, line->len, stdout);
  fflush (stdout);
  g_string_free (line, TRUE);
}

void
digit_train_events_data_loaded (const char *name,
                                const char *folder,
                                guint       n_train,
                                guint       n_test)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("data-loaded");
  add_string (builder, "name", name);
  add_string (builder, "folder", folder);
  add_int (builder, "train_images", n_train);
  add_int (builder, "test_images", n_test);
  finish (builder);
}

void
digit_train_events_data_failed (const char *folder,
                                const char *message)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("data-failed");
  add_string (builder, "folder", folder);
  add_string (builder, "message", message);
  finish (builder);
}

void
digit_train_events_started (const char *run,
                            const char *arch,
                            guint       n_train,
                            guint       epochs,
                            guint       batch_size)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("train-started");
  add_string (builder, "run", run);
  add_string (builder, "arch", arch);
  add_int (builder, "train_images", n_train);
  add_int (builder, "epochs", epochs);
  add_int (builder, "batch_size", batch_size);
  finish (builder);
}

void
digit_train_events_progress (const char          *run,
                             const NnBatchReport *report)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("train-progress");
  add_string (builder, "run", run);
  add_int (builder, "epoch", report->epoch + 1);
  add_int (builder, "epochs", report->epochs);
  add_int (builder, "batch", report->batch + 1);
  add_int (builder, "batches", report->batches_per_epoch);
  add_double (builder, "loss", report->loss);
  add_double (builder, "images_per_s", report->images_per_s);
  add_double (builder, "eta_s", report->eta_s);
  finish (builder);
}

void
digit_train_events_epoch (const char          *run,
                          const NnEpochReport *report)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("train-epoch");
  add_string (builder, "run", run);
  add_int (builder, "epoch", report->epoch + 1);
  add_int (builder, "epochs", report->epochs);
  add_double (builder, "train_loss", report->train_loss);
  add_double (builder, "train_accuracy", report->train_accuracy);
  add_double (builder, "test_accuracy", report->test_accuracy >= 0 ? report->test_accuracy : NAN);
  add_double (builder, "seconds", report->seconds);
  finish (builder);
}

void
digit_train_events_pause (const char *event,
                          const char *run,
                          double      epochs_done)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin (event);
  add_string (builder, "run", run);
  add_double (builder, "epochs_done", epochs_done);
  finish (builder);
}

void
digit_train_events_ended (const char *event,
                          const char *run,
                          double      epochs_done,
                          double      accuracy,
                          double      seconds,
                          double      max_stall_ms,
                          const char *message)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin (event);
  add_string (builder, "run", run);
  add_double (builder, "epochs_done", epochs_done);
  add_double (builder, "test_accuracy", accuracy >= 0 ? accuracy : NAN);
  add_double (builder, "seconds", seconds);
  add_double (builder, "max_stall_ms", max_stall_ms);
  if (message != NULL)
    add_string (builder, "message", message);
  finish (builder);
}

void
digit_train_events_evaluated (const char *run,
                              double      accuracy,
                              guint       n_images)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("train-evaluated");
  add_string (builder, "run", run);
  add_double (builder, "test_accuracy", accuracy);
  add_int (builder, "test_images", n_images);
  finish (builder);
}

void
digit_train_events_run (const char *event,
                        const char *run)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin (event);
  add_string (builder, "run", run);
  finish (builder);
}

void
digit_train_events_interrupted (const char *run,
                                guint       epochs_done,
                                guint       epochs)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("train-interrupted");
  add_string (builder, "run", run);
  add_int (builder, "epochs_done", epochs_done);
  add_int (builder, "epochs", epochs);
  finish (builder);
}

void
digit_train_events_stall (double max_ms,
                          double busy_ms,
                          double queued_ms,
                          guint  ticks)
{
  GString *builder;

  if (!digit_event_log_is_enabled ())
    return;
  builder = begin ("stall");
  add_double (builder, "max_ms", max_ms);
  add_double (builder, "busy_ms", busy_ms);
  add_double (builder, "queued_ms", queued_ms);
  add_int (builder, "ticks", ticks);
  finish (builder);
}
