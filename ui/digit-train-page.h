/* digit-train-page.h — the "Train" page: choose data, model and settings,
 * train with live curves, compare runs, evaluate, use and save models. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DIGIT_TYPE_TRAIN_PAGE (digit_train_page_get_type ())
G_DECLARE_FINAL_TYPE (DigitTrainPage, digit_train_page, DIGIT, TRAIN_PAGE, AdwBin)

GtkWidget *digit_train_page_new          (void);
/* Remembers the settings in @settings (may be NULL), loads the chosen
 * data set, and offers to resume a run an earlier session left
 * unfinished. */
void       digit_train_page_set_settings (DigitTrainPage *self,
                                          GSettings      *settings);
/* Adds the page's actions to @map (the application) as "train.start",
 * "train.pause", "train.resume", "train.stop", "train.use-model" and
 * "train.show" (brings the page into view), so
 * that they have keyboard accelerators and can be activated over D-Bus
 * (`gapplication action io.github.digitlab.DigitLab train.start`). */
void       digit_train_page_add_actions  (DigitTrainPage *self,
                                          GActionMap     *map);

G_END_DECLS
