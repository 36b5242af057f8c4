/* digit-run-row.h — a run in the training page's list: whether its curves
 * are shown, its colour, name and result, and its menu (use, save,
 * evaluate, rename, remove). */
#pragma once

#include <gtk/gtk.h>

#include "digit-run.h"

G_BEGIN_DECLS

#define DIGIT_TYPE_RUN_ROW (digit_run_row_get_type ())
G_DECLARE_FINAL_TYPE (DigitRunRow, digit_run_row, DIGIT, RUN_ROW, GtkWidget)

/* The row's menu emits "activated" with the name of the chosen item:
 * "use-model", "save-model", "evaluate" or "remove"; renaming is done by
 * the row itself. */
GtkWidget *digit_run_row_new     (DigitRun    *run);
DigitRun  *digit_run_row_get_run (DigitRunRow *self);
/* Shows the detail line again (after the run's numbers changed). */
void       digit_run_row_update  (DigitRunRow *self);

/* "LeNet-5 · 3 epochs · 98.91%" or "Training · 45%", as the row shows it. */
char      *digit_run_describe_briefly (DigitRun *run);

G_END_DECLS
