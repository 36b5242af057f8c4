/* digit-preview.c — the network's input image, one square per pixel.
 *
 * Each of the 28x28 pixels is painted as a flat square (nearest-neighbour
 * enlargement) with a thin grid between them, so the coarse resolution the
 * network works with is plain to see. It is shown white on black like the
 * MNIST digits it was trained on, whatever the colour scheme.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "digit-preview.h"

struct _DigitPreview
{
  GtkWidget parent_instance;

  float     image[NN_IMAGE_PIXELS];
  gboolean  has_image;
};

G_DEFINE_FINAL_TYPE (DigitPreview, digit_preview, GTK_TYPE_WIDGET)

#define CORNER_RADIUS 6.0

static void
rounded_square (cairo_t *cr,
                double   side,
                double   radius)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, side - radius, radius, radius, -G_PI / 2, 0);
  cairo_arc (cr, side - radius, side - radius, radius, 0, G_PI / 2);
  cairo_arc (cr, radius, side - radius, radius, G_PI / 2, G_PI);
  cairo_arc (cr, radius, radius, radius, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

static void
digit_preview_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  DigitPreview *self = DIGIT_PREVIEW (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  /* Whole pixels per cell, so that cells and grid lines fall on pixel
   * boundaries and every cell is the same size. */
  double cell = MAX (1.0, floor (MIN (width, height) / NN_IMAGE_SIDE));
  double side = cell * NN_IMAGE_SIDE;
  double x0 = floor ((width - side) / 2.0);
  double y0 = floor ((height - side) / 2.0);
  cairo_t *cr;

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x0, y0, side, side));
  cairo_translate (cr, x0, y0);

  rounded_square (cr, side, CORNER_RADIUS);
  cairo_clip (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);

  if (self->has_image)
    {
      for (int row = 0; row < NN_IMAGE_SIDE; row++)
        for (int col = 0; col < NN_IMAGE_SIDE; col++)
          {
            float value = self->image[row * NN_IMAGE_SIDE + col];

            if (value <= 0.0f)
              continue;
            value = MIN (value, 1.0f);
            cairo_set_source_rgb (cr, value, value, value);
            cairo_rectangle (cr, col * cell, row * cell, cell, cell);
            cairo_fill (cr);
          }
    }

  /* The grid: faint enough to read the digit through, visible on black. */
  cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, 0.28);
  cairo_set_line_width (cr, 1.0);
  for (int i = 1; i < NN_IMAGE_SIDE; i++)
    {
      double at = i * cell + 0.5;

      cairo_move_to (cr, at, 0);
      cairo_line_to (cr, at, side);
      cairo_move_to (cr, 0, at);
      cairo_line_to (cr, side, at);
    }
  cairo_stroke (cr);
  cairo_destroy (cr);
}

static void
digit_preview_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  /* Five screen pixels per image pixel: each one plain to see. */
  *minimum = *natural = 5 * NN_IMAGE_SIDE;
}

static void
digit_preview_class_init (DigitPreviewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = digit_preview_snapshot;
  widget_class->measure = digit_preview_measure;

  gtk_widget_class_set_css_name (widget_class, "digitpreview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
digit_preview_init (DigitPreview *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("What the network sees"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  _("The drawing cropped, scaled and centred in 28 by 28 pixels, as the network receives it"),
                                  -1);
}

GtkWidget *
digit_preview_new (void)
{
  return g_object_new (DIGIT_TYPE_PREVIEW, NULL);
}

void
digit_preview_set_image (DigitPreview *self,
                         const float  *image)
{
  g_return_if_fail (DIGIT_IS_PREVIEW (self));

  if (image == NULL)
    {
      if (!self->has_image)
        return;
      self->has_image = FALSE;
    }
  else
    {
      if (self->has_image && memcmp (self->image, image, sizeof self->image) == 0)
        return;
      memcpy (self->image, image, sizeof self->image);
      self->has_image = TRUE;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
