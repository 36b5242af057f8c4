/* cli-common.h — what every digitlab-cli subcommand shares: option parsing
 * and exit codes, error reporting, where MNIST lives, loading models, and
 * the JSON the commands print.
 *
 * Exit codes: CLI_EXIT_OK, CLI_EXIT_FAILURE (one line "digitlab-cli: why"
 * on stderr), CLI_EXIT_USAGE (the command line itself is wrong: the reason
 * and a hint to --help). */
#pragma once

#include <glib.h>

#include "nn.h"

G_BEGIN_DECLS

enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1,
  CLI_EXIT_USAGE = 2,
};

/* Each subcommand: argv[0] is the subcommand's name. Returns an exit code. */
int cli_train_main   (int argc, char **argv);
int cli_eval_main    (int argc, char **argv);
int cli_predict_main (int argc, char **argv);
int cli_info_main    (int argc, char **argv);
int cli_bench_main   (int argc, char **argv);

/* ---- Options and errors ----------------------------------------------- */

/* A GOptionContext for "digitlab-cli @command", with @parameter_string
 * (e.g. "IMAGE.png…"), a translated @summary and the program's domain. */
GOptionContext *cli_option_context_new (const char *command,
                                        const char *parameter_string,
                                        const char *summary,
                                        const GOptionEntry *entries);

/* Parses the options; on a bad one prints the reason and the --help hint
 * and returns FALSE (exit with CLI_EXIT_USAGE). */
gboolean cli_parse_options (GOptionContext *context,
                            const char     *command,
                            int            *argc,
                            char         ***argv);

/* "digitlab-cli: <message>" on stderr; returns CLI_EXIT_FAILURE. */
int  cli_fail       (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* The same for @error's message. */
int  cli_fail_error (const GError *error);
/* "digitlab-cli: <message>" plus the hint to "digitlab-cli @command --help";
 * returns CLI_EXIT_USAGE. */
int  cli_usage      (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The value @text of @option as a whole number in [@min, @max], or a
 * finite real number. On failure they print a usage error and return
 * FALSE (exit with CLI_EXIT_USAGE). Numeric options are taken as text so
 * that "not given" differs from every value a person can type. */
gboolean cli_parse_uint   (const char *command, const char *option, const char *text,
                           guint64 min, guint64 max, guint64 *out);
gboolean cli_parse_double (const char *command, const char *option, const char *text,
                           double *out);

/* --threads: FALSE (after cli_usage) when negative; 0 means all cores. */
gboolean cli_apply_threads (const char *command, int n_threads);

/* ---- Data and models -------------------------------------------------- */

/* The MNIST folder to use when --data is absent: $DIGITLAB_MNIST_DIR, else
 * the user's data folder (~/.local/share/digitlab/mnist) if it exists, else
 * the folder this build was configured with. */
char    *cli_default_data_dir (void);

/* Loads the training and test sets from @dir (NULL: the default folder).
 * @train may be NULL when only the test set is wanted. When the folder or
 * the files are missing the error says where it looked and how to get
 * MNIST. */
gboolean cli_load_data (const char  *dir,
                        NnDataset  **train,
                        NnDataset  **test,
                        GError     **error);

/* The model in @path, or the embedded default one when @path is NULL. */
NnModel *cli_load_model (const char *path, GError **error);

/* ---- Output ----------------------------------------------------------- */

/* Writes @data to @path: "-" is standard output, a device or a pipe is
 * written in place, and a regular file atomically (a temporary file
 * renamed over it), so it is never seen half-written. */
gboolean cli_write_output (const char *path, const char *data, gsize len, GError **error);
/* TRUE when @path is absent or a regular file (not a link, a device, a
 * pipe or a folder): what an atomic rename may put a new file at. */
gboolean cli_is_replaceable (const char *path);

/* Index of the largest probability (the first one on ties). */
guint cli_argmax (const float probs[NN_CLASSES]);

/* JSON pieces for the machine-readable outputs. Strings are escaped by
 * json-glib; numbers are written in their shortest exact form (a float
 * probability as "0.98", not "0.98000001907348633"). */
void cli_json_append_string        (GString *out, const char *text);
void cli_json_append_number        (GString *out, double value);
void cli_json_append_float         (GString *out, float value);
void cli_json_append_probabilities (GString *out, const float probs[NN_CLASSES]);
/* @value in the same shortest exact form, as a string for metadata. */
char *cli_float_to_string          (float value);

G_END_DECLS
