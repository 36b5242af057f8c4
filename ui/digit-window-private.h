/* digit-window-private.h — DigitWindow's insides, shared with its actions. */
#pragma once

#include "nn.h"
#include "digit-draw-page.h"
#include "digit-train-page.h"
#include "digit-window.h"

G_BEGIN_DECLS

struct _DigitWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  GtkMenuButton        *model_button;
  GtkLabel             *model_button_title;
  GtkLabel             *model_button_subtitle;
  GtkLabel             *model_details_title;
  GtkLabel             *model_details_summary;
  GtkLabel             *model_details_spec;
  GtkLabel             *model_details_params;
  AdwViewStack         *stack;
  DigitDrawPage        *draw_page;
  DigitTrainPage       *train_page;

  GSettings            *settings;     /* NULL when the schema is missing */
  NnModel              *model;        /* NULL when none could be loaded */
  char                 *model_name;   /* as shown in the header bar */
  GtkNativeDialog      *file_chooser; /* the open or save dialog, if shown */
};

void digit_window_class_add_actions (GtkWidgetClass *widget_class);
void digit_window_update_actions    (DigitWindow    *self);
void digit_window_show_toast        (DigitWindow    *self,
                                     const char     *message);
void digit_window_show_error        (DigitWindow    *self,
                                     const char     *heading,
                                     const char     *message);

G_END_DECLS
