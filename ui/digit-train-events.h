/* digit-train-events.h — the training page's lines in the JSON event log
 * (`digitlab --log-predictions`, see digit-event-log.h): what the GUI
 * tests follow of a run. Nothing is written unless the log is enabled.
 *
 *   {"event":"data-loaded","name":..,"folder":..,"train_images":N,"test_images":N}
 *   {"event":"data-failed","folder":..,"message":..}
 *   {"event":"train-started","run":..,"arch":..,"train_images":N,"epochs":N,"batch_size":N}
 *   {"event":"train-progress","run":..,"epoch":E,"epochs":N,"batch":B,"batches":N,
 *    "loss":L,"images_per_s":R,"eta_s":S}          at most 12 a second
 *   {"event":"train-epoch","run":..,"epoch":E,"epochs":N,"train_loss":L,
 *    "train_accuracy":A,"test_accuracy":A,"seconds":S}    epoch counts from 1
 *   {"event":"train-paused"|"train-resumed","run":..,"epochs_done":X}
 *   {"event":"train-finished"|"train-stopped"|"train-failed","run":..,
 *    "epochs_done":X,"test_accuracy":A,"seconds":S,"max_stall_ms":M[,"message":..]}
 *   {"event":"train-evaluated","run":..,"test_accuracy":A,"test_images":N}
 *   {"event":"run-removed"|"run-restored","run":..}
 *                                            a run taken off the page, and put back
 *                                            by Undo before its toast went
 *   {"event":"train-interrupted","run":..,"epochs_done":N,"epochs":N}
 *                                            a run an earlier session left, offered
 *   {"event":"stall","max_ms":M,"busy_ms":B,"ticks":N}
 *                                            the main loop's longest gap in the last
 *                                            second while training, and how much of it
 *                                            the main thread spent running
 */
#pragma once

#include "nn.h"

G_BEGIN_DECLS

void digit_train_events_data_loaded (const char *name,
                                     const char *folder,
                                     guint       n_train,
                                     guint       n_test);
void digit_train_events_data_failed (const char *folder,
                                     const char *message);
void digit_train_events_started     (const char *run,
                                     const char *arch,
                                     guint       n_train,
                                     guint       epochs,
                                     guint       batch_size);
void digit_train_events_progress    (const char          *run,
                                     const NnBatchReport *report);
void digit_train_events_epoch       (const char          *run,
                                     const NnEpochReport *report);
/* @event: "train-paused" or "train-resumed". */
void digit_train_events_pause       (const char *event,
                                     const char *run,
                                     double      epochs_done);
/* @event: "train-finished", "train-stopped" or "train-failed"; @accuracy
 * negative when unknown, @message NULL unless it failed. */
void digit_train_events_ended       (const char *event,
                                     const char *run,
                                     double      epochs_done,
                                     double      accuracy,
                                     double      seconds,
                                     double      max_stall_ms,
                                     const char *message);
void digit_train_events_evaluated   (const char *run,
                                     double      accuracy,
                                     guint       n_images);
/* @event: "run-removed" or "run-restored". */
void digit_train_events_run         (const char *event,
                                     const char *run);
void digit_train_events_interrupted (const char *run,
                                     guint       epochs_done,
                                     guint       epochs);
void digit_train_events_stall       (double      max_ms,
                                     double      busy_ms,
                                     double      queued_ms,
                                     guint       ticks);

G_END_DECLS
