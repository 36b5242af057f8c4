/* digit-event-log.c — JSON lines on standard output for scripted tests.
 *
 * Numbers are written with g_ascii_formatd so that the output does not
 * depend on the locale (a German desktop would otherwise print "0,98"). */
#include "config.h"

#include <stdio.h>
#include <json-glib/json-glib.h>

#include "digit-event-log.h"

static gboolean log_enabled;

void
digit_event_log_set_enabled (gboolean enabled)
{
  log_enabled = !!enabled;
}

gboolean
digit_event_log_is_enabled (void)
{
  return log_enabled;
}

guint
digit_argmax (const float probabilities[NN_CLASSES])
{
  guint best = 0;

  for (guint i = 1; i < NN_CLASSES; i++)
    if (probabilities[i] > probabilities[best])
      best = i;
  return best;
}

static void
append_number (GString *line, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (line, g_ascii_formatd (buffer, sizeof buffer, "%.6g", value));
}

static void
append_string (GString *line, const char *value)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *quoted = NULL;

  if (value == NULL)
    {
      g_string_append (line, "null");
      return;
    }
  node = json_node_init_string (json_node_alloc (), value);
  quoted = json_to_string (node, FALSE);
  g_string_append (line, quoted);
}

static void
emit (GString *line)
{
  g_string_append_c (line, '\n');
  fwrite (line->str, 1, line->len, stdout);
  fflush (stdout);
}

void
digit_event_log_ready (int x, int y, int width, int height, int scale)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new (NULL);
  g_string_append_printf (line,
                          "{\"event\":\"ready\",\"canvas\":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d},\"scale\":%d}",
                          x, y, width, height, scale);
  emit (line);
}

void
digit_event_log_prediction (const float probabilities[NN_CLASSES],
                            gboolean    final,
                            guint       n_strokes)
{
  g_autoptr(GString) line = NULL;
  guint digit;

  if (!log_enabled)
    return;
  digit = digit_argmax (probabilities);
  line = g_string_new ("{\"event\":\"prediction\",\"digit\":");
  g_string_append_printf (line, "%u,\"confidence\":", digit);
  append_number (line, probabilities[digit]);
  /* What the window shows: a digit, or "Not sure" (nn_prediction_is_unsure). */
  g_string_append_printf (line, ",\"unsure\":%s",
                          nn_prediction_is_unsure (probabilities) ? "true" : "false");
  g_string_append (line, ",\"probabilities\":[");
  for (guint i = 0; i < NN_CLASSES; i++)
    {
      if (i > 0)
        g_string_append_c (line, ',');
      append_number (line, probabilities[i]);
    }
  g_string_append_printf (line, "],\"final\":%s,\"strokes\":%u}",
                          final ? "true" : "false", n_strokes);
  emit (line);
}

void
digit_event_log_drawing (const NnDrawing *drawing)
{
  g_autoptr(GString) line = NULL;
  g_autofree char *json = NULL;

  if (!log_enabled)
    return;
  json = nn_drawing_to_json (drawing);
  line = g_string_new ("{\"event\":\"drawing\",\"drawing\":");
  /* The JSON breaks lines between strokes, and an event is one line. It has
   * no strings, so every newline is layout. */
  for (const char *c = json; *c != '\0'; c++)
    if (*c != '\n')
      g_string_append_c (line, *c);
  g_string_append_c (line, '}');
  emit (line);
}

void
digit_event_log_active (gboolean active)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new (NULL);
  g_string_append_printf (line, "{\"event\":\"active\",\"active\":%s}",
                          active ? "true" : "false");
  emit (line);
}

void
digit_event_log_focus (const char *widget_type, gboolean visible)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new ("{\"event\":\"focus\",\"widget\":");
  append_string (line, widget_type);
  g_string_append_printf (line, ",\"visible\":%s}", visible ? "true" : "false");
  emit (line);
}

void
digit_event_log_cleared (void)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new ("{\"event\":\"cleared\"}");
  emit (line);
}

void
digit_event_log_history (const char *event, guint n_strokes)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new ("{\"event\":");
  append_string (line, event);
  g_string_append_printf (line, ",\"strokes\":%u}", n_strokes);
  emit (line);
}

void
digit_event_log_model (const char *name, const char *arch)
{
  g_autoptr(GString) line = NULL;

  if (!log_enabled)
    return;
  line = g_string_new ("{\"event\":\"model\",\"name\":");
  append_string (line, name);
  g_string_append (line, ",\"arch\":");
  append_string (line, arch);
  g_string_append_c (line, '}');
  emit (line);
}
