/* cli-train-run.h — running a trainer from the command line: on a worker
 * thread, with a live progress line on a terminal and one line per epoch,
 * Ctrl+C (SIGINT) and SIGTERM stopping it at the next batch, and a
 * checkpoint written at every epoch boundary. */
#pragma once

#include "nn.h"

G_BEGIN_DECLS

typedef struct {
  gboolean ok;                 /* all the epochs are done */
  GError  *error;              /* why not, when !ok */
  int      stop_signal;        /* the signal that stopped the run, or 0 */
  guint    checkpointed_epoch; /* epochs in the last checkpoint written, or 0 */
  double   seconds;            /* training time, earlier runs included */
  float    test_accuracy;      /* after the last epoch run here, or -1 */
} CliTrainResult;

/* Trains until @trainer is done or a signal stops it. With @checkpoint,
 * writes one after every epoch (a failure stops the run with its error).
 * @seconds_so_far is the training time of the run before a --resume; the
 * total is kept in the model's "train_seconds" metadata as it goes. Call
 * cli_train_result_clear on @result afterwards. */
void cli_train_run          (NnTrainer      *trainer,
                             const char     *checkpoint,
                             double          seconds_so_far,
                             CliTrainResult *result);
void cli_train_result_clear (CliTrainResult *result);

/* Records @seconds as the model's "train_seconds". */
void cli_set_train_seconds  (NnModel *model, double seconds);

G_END_DECLS
