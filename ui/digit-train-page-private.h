/* digit-train-page-private.h — DigitTrainPage's insides, shared with its
 * actions (digit-train-page-actions.c). */
#pragma once

#include "digit-confusion-view.h"
#include "digit-plot-view.h"
#include "digit-run.h"
#include "digit-stall-monitor.h"
#include "digit-train-form.h"
#include "digit-train-page.h"

G_BEGIN_DECLS

/* A run of the session, with its curves in the plots and its row. */
typedef struct {
  DigitTrainPage *page;
  DigitRun  *run;
  GtkWidget *row;
  guint      loss_series;
  guint      train_series;
  guint      test_series;
} RunEntry;

struct _DigitTrainPage
{
  AdwBin               parent_instance;

  /* Template children */
  DigitTrainForm      *form;
  GtkRevealer         *resume_revealer;
  GtkLabel            *resume_label;
  GtkLabel            *status_title;
  GtkLabel            *status_details;
  GtkProgressBar      *progress_bar;
  GtkButton           *use_button;
  GtkButton           *save_button;
  GtkButton           *start_button;
  GtkButton           *pause_button;
  GtkButton           *resume_button;
  GtkButton           *stop_button;
  GtkLabel            *hint_label;
  GtkToggleButton     *large_text_button;
  GtkStack            *results_stack;
  GtkStack            *results_content;
  DigitPlotView       *loss_view;
  DigitPlotView       *accuracy_view;
  GtkSpinner          *evaluating_spinner;
  GtkLabel            *results_run_label;
  GtkLabel            *accuracy_label;
  GtkLabel            *accuracy_caption;
  GtkLabel            *mistakes_label;
  DigitConfusionView  *confusion_view;
  GtkScrolledWindow   *runs_scroller;
  GtkFlowBox          *runs_box;

  GSettings           *settings;
  DigitPlot           *loss_plot;
  DigitPlot           *accuracy_plot;
  GPtrArray           *runs;            /* RunEntry, in order of start */
  DigitRun            *active;          /* preparing, training or paused */
  DigitRun            *selected;        /* the one the results show */
  guint                next_run_number;
  guint                next_color;
  gboolean             start_pending;   /* Start pressed while data loads */
  gint64               started_us;      /* when the last run was started */
  gboolean             resume_when_ready;
  DigitStallMonitor   *stall_monitor;
  gint64               status_shown_us; /* when the status card was last rewritten */
  DigitCheckpointInfo *interrupted;     /* offered for resuming */
  GCancellable        *cancellable;

  /* The application's actions (train.*), to enable and disable. */
  GSimpleAction       *start_action;
  GSimpleAction       *pause_action;
  GSimpleAction       *resume_action;
  GSimpleAction       *stop_action;
  GSimpleAction       *use_model_action;

  GtkNativeDialog     *save_chooser;
};

/* digit-train-page.c */
void      digit_train_page_add_run        (DigitTrainPage *self,
                                           DigitRun       *run);
void      digit_train_page_remove_run     (DigitTrainPage *self,
                                           DigitRun       *run);
void      digit_train_page_select_run     (DigitTrainPage *self,
                                           DigitRun       *run);
void      digit_train_page_set_active     (DigitTrainPage *self,
                                           DigitRun       *run);
/* The run the status card is about: the active one, else the selected. */
DigitRun *digit_train_page_get_shown_run  (DigitTrainPage *self);
void      digit_train_page_update         (DigitTrainPage *self);
void      digit_train_page_show_toast     (DigitTrainPage *self,
                                           const char     *message);

/* digit-train-page-actions.c */
void      digit_train_page_class_add_actions (GtkWidgetClass *widget_class);
void      digit_train_page_update_actions    (DigitTrainPage *self);
void      digit_train_page_use_model         (DigitTrainPage *self,
                                              DigitRun       *run);
void      digit_train_page_save_model        (DigitTrainPage *self,
                                              DigitRun       *run);
void      digit_train_page_offer_interrupted (DigitTrainPage *self);
/* The form's data arrived: a Start that waited for it goes ahead. */
void      digit_train_page_data_ready        (DigitTrainPage *self);

G_END_DECLS
