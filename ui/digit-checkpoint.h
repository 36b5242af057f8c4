/* digit-checkpoint.h — the training run the app would resume after a
 * crash: the engine's checkpoint (model, optimiser, position), written by
 * the training thread at every epoch's end, and beside it a small JSON
 * file with what the engine's does not hold: the run's name, its data and
 * the curves drawn so far.
 *
 * Both live in $XDG_STATE_HOME/digitlab (~/.local/state/digitlab). Writes
 * and deletions of the JSON file go through one background thread in the
 * order they were asked for, so the main loop never waits for a disk.
 */
#pragma once

#include <glib.h>

#include "nn.h"
#include "digit-plot.h"

G_BEGIN_DECLS

typedef struct {
  char          *name;
  char          *data_folder;
  char          *data_name;
  guint          train_limit;      /* 0: every training image */
  char          *spec;
  NnTrainConfig  config;
  guint          color_index;
  guint          epochs_done;
  double         seconds;          /* training time so far */
  GArray        *losses;           /* DigitPlotPoint: x in epochs */
  GArray        *train_accuracy;   /* DigitPlotPoint: x = epoch, y in % */
  GArray        *test_accuracy;
} DigitCheckpointInfo;

/* The engine's checkpoint file (checkpoint.safetensors). */
char                *digit_checkpoint_path          (void);

DigitCheckpointInfo *digit_checkpoint_info_new      (void);
void                 digit_checkpoint_info_free     (DigitCheckpointInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DigitCheckpointInfo, digit_checkpoint_info_free)

char                *digit_checkpoint_info_to_json  (const DigitCheckpointInfo *info);
DigitCheckpointInfo *digit_checkpoint_info_from_json (const char *json,
                                                      GError    **error);

/* Queues writing @info (taken) as the interrupted run's description. */
void                 digit_checkpoint_save_info     (DigitCheckpointInfo *info);
/* Queues deleting the checkpoint and its description: nothing to resume. */
void                 digit_checkpoint_discard       (void);
/* Waits until everything queued is on disk (or deleted). */
void                 digit_checkpoint_sync          (void);
/* The interrupted run, when there is one: both files exist and the
 * description reads. NULL without an error when there is none. */
DigitCheckpointInfo *digit_checkpoint_find          (GError **error);

G_END_DECLS
