/* test-ui-helpers.c — the desktop app's logic that needs no display:
 * the JSON event lines scripted GUI tests read (digit-event-log.c), the
 * model names shown in the header bar (digit-model-info.c) and the Train
 * page's checks of typed numbers (digit-field-check.c). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "nn.h"
#include "../ui/digit-event-log.h"
#include "../ui/digit-field-check.h"
#include "../ui/digit-model-info.h"

/* Runs @emit with standard output sent to a file; returns what it wrote. */
static char *
capture_stdout (void (*emit) (void))
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  int saved, fd;

  fd = g_file_open_tmp ("digitlab-log-XXXXXX", &path, &error);
  g_assert_no_error (error);
  fflush (stdout);
  saved = dup (STDOUT_FILENO);
  g_assert_cmpint (saved, >=, 0);
  g_assert_cmpint (dup2 (fd, STDOUT_FILENO), >=, 0);
  emit ();
  /* No flush here: each line must already have been flushed by the log. */
  g_assert_cmpint (dup2 (saved, STDOUT_FILENO), >=, 0);
  close (saved);
  close (fd);

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_unlink (path);
  return contents;
}

static JsonObject *
parse_line (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

static const float sample_probabilities[NN_CLASSES] = {
  0.001f, 0.002f, 0.003f, 0.004f, 0.005f, 0.006f, 0.007f, 0.95f, 0.012f, 0.01f,
};

static void
emit_every_event (void)
{
  digit_event_log_set_enabled (TRUE);
  digit_event_log_ready (12, 60, 480, 480, 2);
  digit_event_log_prediction (sample_probabilities, FALSE, 1);
  digit_event_log_prediction (sample_probabilities, TRUE, 2);
  digit_event_log_cleared ();
  digit_event_log_history ("undo", 2);
  digit_event_log_history ("redo", 0);
  digit_event_log_model ("My \"best\" model\n", "dense:10");
  digit_event_log_model (NULL, NULL);
  digit_event_log_set_enabled (FALSE);
}

static void
test_event_log_lines (void)
{
  g_autofree char *output = capture_stdout (emit_every_event);
  g_auto(GStrv) lines = g_strsplit (output, "\n", -1);
  g_autoptr(JsonObject) ready = NULL, live = NULL, final = NULL, cleared = NULL;
  g_autoptr(JsonObject) undo = NULL, redo = NULL, model = NULL, no_model = NULL;
  JsonObject *canvas;
  JsonArray *probabilities;

  /* Eight events, one per line, and a newline after the last. */
  g_assert_cmpuint (g_strv_length (lines), ==, 9);
  g_assert_cmpstr (lines[8], ==, "");

  ready = parse_line (lines[0]);
  g_assert_cmpstr (json_object_get_string_member (ready, "event"), ==, "ready");
  canvas = json_object_get_object_member (ready, "canvas");
  g_assert_cmpint (json_object_get_int_member (canvas, "x"), ==, 12);
  g_assert_cmpint (json_object_get_int_member (canvas, "y"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (canvas, "width"), ==, 480);
  g_assert_cmpint (json_object_get_int_member (canvas, "height"), ==, 480);
  g_assert_cmpint (json_object_get_int_member (ready, "scale"), ==, 2);

  live = parse_line (lines[1]);
  g_assert_cmpstr (json_object_get_string_member (live, "event"), ==, "prediction");
  g_assert_cmpint (json_object_get_int_member (live, "digit"), ==, 7);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (live, "confidence"), 0.95, 1e-6);
  g_assert_false (json_object_get_boolean_member (live, "unsure"));
  g_assert_false (json_object_get_boolean_member (live, "final"));
  g_assert_cmpint (json_object_get_int_member (live, "strokes"), ==, 1);
  probabilities = json_object_get_array_member (live, "probabilities");
  g_assert_cmpuint (json_array_get_length (probabilities), ==, NN_CLASSES);
  for (guint i = 0; i < NN_CLASSES; i++)
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (probabilities, i),
                                    sample_probabilities[i], 1e-6);

  final = parse_line (lines[2]);
  g_assert_true (json_object_get_boolean_member (final, "final"));
  g_assert_cmpint (json_object_get_int_member (final, "strokes"), ==, 2);

  cleared = parse_line (lines[3]);
  g_assert_cmpstr (json_object_get_string_member (cleared, "event"), ==, "cleared");
  g_assert_cmpuint (json_object_get_size (cleared), ==, 1);

  undo = parse_line (lines[4]);
  g_assert_cmpstr (json_object_get_string_member (undo, "event"), ==, "undo");
  g_assert_cmpint (json_object_get_int_member (undo, "strokes"), ==, 2);
  redo = parse_line (lines[5]);
  g_assert_cmpstr (json_object_get_string_member (redo, "event"), ==, "redo");
  g_assert_cmpint (json_object_get_int_member (redo, "strokes"), ==, 0);

  /* Quotes and control characters in a model's name are escaped. */
  model = parse_line (lines[6]);
  g_assert_cmpstr (json_object_get_string_member (model, "event"), ==, "model");
  g_assert_cmpstr (json_object_get_string_member (model, "name"), ==, "My \"best\" model\n");
  g_assert_cmpstr (json_object_get_string_member (model, "arch"), ==, "dense:10");
  no_model = parse_line (lines[7]);
  g_assert_true (json_object_get_null_member (no_model, "name"));
  g_assert_true (json_object_get_null_member (no_model, "arch"));
}

static void
emit_while_disabled (void)
{
  digit_event_log_set_enabled (FALSE);
  digit_event_log_ready (1, 2, 3, 4, 1);
  digit_event_log_prediction (sample_probabilities, TRUE, 1);
  digit_event_log_cleared ();
  digit_event_log_history ("undo", 0);
  digit_event_log_model ("x", "y");
}

static void
test_event_log_disabled (void)
{
  g_autofree char *output = capture_stdout (emit_while_disabled);

  g_assert_cmpstr (output, ==, "");
}

static void
emit_in_german (void)
{
  digit_event_log_set_enabled (TRUE);
  digit_event_log_prediction (sample_probabilities, TRUE, 1);
  digit_event_log_set_enabled (FALSE);
}

/* A locale with a decimal comma must not leak into the JSON. */
static void
test_event_log_locale (void)
{
  g_autofree char *old_locale = g_strdup (setlocale (LC_NUMERIC, NULL));
  g_autofree char *output = NULL;
  g_autoptr(JsonObject) event = NULL;

  if (setlocale (LC_NUMERIC, "de_DE.UTF-8") == NULL)
    {
      g_test_skip ("the de_DE.UTF-8 locale is not installed");
      return;
    }
  output = capture_stdout (emit_in_german);
  setlocale (LC_NUMERIC, old_locale);
  g_assert_null (strstr (output, "0,95"));
  event = parse_line (output);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (event, "confidence"), 0.95, 1e-6);
}

static void
test_argmax (void)
{
  float ties[NN_CLASSES] = { 0 };
  float last[NN_CLASSES] = { 0.1f, 0, 0, 0, 0, 0, 0, 0, 0, 0.9f };

  /* A tie goes to the first digit, as a person reading the bars would. */
  ties[3] = ties[5] = 0.5f;
  g_assert_cmpuint (digit_argmax (ties), ==, 3);
  g_assert_cmpuint (digit_argmax (last), ==, 9);
  g_assert_cmpuint (digit_argmax (sample_probabilities), ==, 7);
}

static void
test_model_info_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("mlp", 1, &error);
  g_autofree char *fallback = NULL;
  g_autofree char *named = NULL;

  g_assert_no_error (error);
  fallback = digit_model_info_name (model, "my-model");
  g_assert_cmpstr (fallback, ==, "my-model");
  nn_model_set_metadata (model, "name", "Night run");
  named = digit_model_info_name (model, "my-model");
  g_assert_cmpstr (named, ==, "Night run");
}

static void
test_model_info_architecture (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) lenet = nn_model_new ("lenet5", 1, &error);
  g_autoptr(NnModel) custom = NULL;
  g_autofree char *lenet_arch = NULL;
  g_autofree char *custom_arch = NULL;

  g_assert_no_error (error);
  lenet_arch = digit_model_info_architecture (lenet);
  g_assert_cmpstr (lenet_arch, ==, "lenet5");

  custom = nn_model_new ("dense:32 relu dense:10", 1, &error);
  g_assert_no_error (error);
  custom_arch = digit_model_info_architecture (custom);
  g_assert_cmpstr (custom_arch, ==, nn_model_get_spec (custom));
}

static void
test_model_info_accuracy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NnModel) model = nn_model_new ("mlp", 1, &error);
  g_autofree char *without = NULL;
  g_autofree char *with = NULL;

  g_assert_no_error (error);
  g_assert_cmpfloat (digit_model_info_test_accuracy (model), <, 0);
  without = digit_model_info_summary (model);
  g_assert_cmpstr (without, ==, "mlp");

  /* As the CLI writes it: a fraction with four decimals. */
  nn_model_set_metadata (model, "test_accuracy", "0.9912");
  g_assert_cmpfloat_with_epsilon (digit_model_info_test_accuracy (model), 0.9912, 1e-9);
  with = digit_model_info_summary (model);
  g_assert_cmpstr (with, ==, "mlp · 99.1% test accuracy");

  /* Other tools may write a percentage. */
  nn_model_set_metadata (model, "test_accuracy", "98.5");
  g_assert_cmpfloat_with_epsilon (digit_model_info_test_accuracy (model), 0.985, 1e-9);

  /* Nonsense is ignored rather than shown. */
  nn_model_set_metadata (model, "test_accuracy", "high");
  g_assert_cmpfloat (digit_model_info_test_accuracy (model), <, 0);
  nn_model_set_metadata (model, "test_accuracy", "250");
  g_assert_cmpfloat (digit_model_info_test_accuracy (model), <, 0);
  nn_model_set_metadata (model, "test_accuracy", "-0.5");
  g_assert_cmpfloat (digit_model_info_test_accuracy (model), <, 0);
  nn_model_set_metadata (model, "test_accuracy", "nan");
  g_assert_cmpfloat (digit_model_info_test_accuracy (model), <, 0);
}

static void
test_field_parse (void)
{
  double value = -1;

  g_assert_true (digit_field_parse ("3", 1, 1000, 0, &value));
  g_assert_cmpfloat (value, ==, 3);
  g_assert_true (digit_field_parse (" 1000 ", 1, 1000, 0, &value));
  g_assert_cmpfloat (value, ==, 1000);
  g_assert_true (digit_field_parse ("0.00001", 0.00001, 10, 5, &value));
  g_assert_cmpfloat (value, ==, 0.00001);
  g_assert_true (digit_field_parse ("4294967295", 0, 4294967295.0, 0, NULL));

  /* What GtkSpinButton would have moved to a bound without a word. */
  g_assert_false (digit_field_parse ("0", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse ("1001", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse ("99999", 1, 4096, 0, NULL));
  g_assert_false (digit_field_parse ("0", 0.00001, 10, 5, NULL));
  g_assert_false (digit_field_parse ("-1", 0, 1, 4, NULL));
  /* Not numbers at all, or not whole ones. */
  g_assert_false (digit_field_parse ("", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse ("  ", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse ("-", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse (".", 0, 1, 3, NULL));
  g_assert_false (digit_field_parse ("3x", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse ("nan", 0, 1, 3, NULL));
  g_assert_false (digit_field_parse ("2.5", 1, 1000, 0, NULL));
  g_assert_false (digit_field_parse (NULL, 1, 1000, 0, NULL));
}

static void
test_field_message (void)
{
  const char *epochs = "Epochs must be a whole number from %s to %s.";
  const char *rate = "The learning rate must be a number from %s to %s.";
  g_autofree char *zero_epochs = digit_field_check ("0", 1, 1000, 0, epochs);
  g_autofree char *empty_epochs = digit_field_check ("", 1, 1000, 0, epochs);
  g_autofree char *zero_rate = digit_field_check ("0", 0.00001, 10, 5, rate);
  g_autofree char *momentum = digit_field_format (0.999, 3);
  g_autofree char *seed = digit_field_format (4294967295.0, 0);

  g_assert_null (digit_field_check ("3", 1, 1000, 0, epochs));
  g_assert_cmpstr (zero_epochs, ==, "Epochs must be a whole number from 1 to 1000.");
  g_assert_cmpstr (empty_epochs, ==, zero_epochs);
  /* The bounds as the field shows numbers, without trailing zeros. */
  g_assert_cmpstr (zero_rate, ==, "The learning rate must be a number from 0.00001 to 10.");
  g_assert_cmpstr (momentum, ==, "0.999");
  g_assert_cmpstr (seed, ==, "4294967295");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/event-log/lines", test_event_log_lines);
  g_test_add_func ("/ui/event-log/disabled", test_event_log_disabled);
  g_test_add_func ("/ui/event-log/locale", test_event_log_locale);
  g_test_add_func ("/ui/event-log/argmax", test_argmax);
  g_test_add_func ("/ui/model-info/name", test_model_info_name);
  g_test_add_func ("/ui/model-info/architecture", test_model_info_architecture);
  g_test_add_func ("/ui/model-info/accuracy", test_model_info_accuracy);
  g_test_add_func ("/ui/field-check/parse", test_field_parse);
  g_test_add_func ("/ui/field-check/message", test_field_message);

  return g_test_run ();
}
