/* digit-cell-images.c — the test images behind one confusion matrix cell.
 *
 * A cell can hold a thousand images (the diagonal), so they are shown in
 * a GtkGridView, which only makes widgets for those on screen. Each image
 * is enlarged pixel for pixel (nearest neighbour), white on black as in
 * MNIST, with the probability the model gave what it read, and that of
 * the true digit or of its second choice.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "digit-cell-images.h"

/* Screen pixels per image pixel. */
#define ZOOM 3

/* ---- Items: the index of a test image --------------------------------------- */

#define DIGIT_TYPE_CELL_ITEM (digit_cell_item_get_type ())
G_DECLARE_FINAL_TYPE (DigitCellItem, digit_cell_item, DIGIT, CELL_ITEM, GObject)

struct _DigitCellItem
{
  GObject parent_instance;
  guint   index;
};

G_DEFINE_FINAL_TYPE (DigitCellItem, digit_cell_item, G_TYPE_OBJECT)

static void
digit_cell_item_class_init (DigitCellItemClass *klass)
{
}

static void
digit_cell_item_init (DigitCellItem *self)
{
}

/* ---- The window ---------------------------------------------------------------- */

struct _DigitCellImages
{
  AdwWindow        parent_instance;

  AdwWindowTitle  *window_title;
  GtkGridView     *grid;

  DigitEvaluation *evaluation;
  guint            truth;
  guint            predicted;
};

G_DEFINE_FINAL_TYPE (DigitCellImages, digit_cell_images, ADW_TYPE_WINDOW)

static void
draw_image (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  DigitCellImages *self = user_data;
  DigitCellItem *item = g_object_get_data (G_OBJECT (area), "item");
  float pixels[NN_IMAGE_PIXELS];
  cairo_surface_t *ink;
  cairo_pattern_t *pattern;
  guint8 *data;
  int stride;
  double radius = 6.0;

  /* The black square, rounded like the draw page's preview. */
  cairo_new_sub_path (cr);
  cairo_arc (cr, width - radius, radius, radius, -G_PI / 2, 0);
  cairo_arc (cr, width - radius, height - radius, radius, 0, G_PI / 2);
  cairo_arc (cr, radius, height - radius, radius, G_PI / 2, G_PI);
  cairo_arc (cr, radius, radius, radius, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
  cairo_clip (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  if (item == NULL)
    return;

  /* The ink as an alpha mask, scaled up without smoothing. */
  digit_evaluation_get_image (self->evaluation, item->index, pixels);
  ink = cairo_image_surface_create (CAIRO_FORMAT_A8, NN_IMAGE_SIDE, NN_IMAGE_SIDE);
  data = cairo_image_surface_get_data (ink);
  stride = cairo_image_surface_get_stride (ink);
  for (int y = 0; y < NN_IMAGE_SIDE; y++)
    for (int x = 0; x < NN_IMAGE_SIDE; x++)
      data[y * stride + x] = (guint8) (CLAMP (pixels[y * NN_IMAGE_SIDE + x], 0.0f, 1.0f) * 255.0f + 0.5f);
  cairo_surface_mark_dirty (ink);

  cairo_scale (cr, (double) width / NN_IMAGE_SIDE, (double) height / NN_IMAGE_SIDE);
  pattern = cairo_pattern_create_for_surface (ink);
  cairo_pattern_set_filter (pattern, CAIRO_FILTER_NEAREST);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_mask (cr, pattern);
  cairo_pattern_destroy (pattern);
  cairo_surface_destroy (ink);
}

static void
setup_item (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            DigitCellImages          *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *image = gtk_drawing_area_new ();
  GtkWidget *read = gtk_label_new (NULL);
  GtkWidget *other = gtk_label_new (NULL);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (image), ZOOM * NN_IMAGE_SIDE);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (image), ZOOM * NN_IMAGE_SIDE);
  gtk_widget_set_halign (image, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (image), draw_image, self, NULL);
  gtk_widget_add_css_class (read, "heading");
  gtk_widget_add_css_class (read, "numeric");
  gtk_widget_add_css_class (other, "caption");
  gtk_widget_add_css_class (other, "dim-label");
  gtk_widget_add_css_class (other, "numeric");
  gtk_box_append (GTK_BOX (box), image);
  gtk_box_append (GTK_BOX (box), read);
  gtk_box_append (GTK_BOX (box), other);
  gtk_list_item_set_child (list_item, box);
}

/* The most probable class other than @except. */
static guint
runner_up (const float *probabilities,
           guint        except)
{
  guint best = except == 0 ? 1 : 0;

  for (guint i = 0; i < NN_CLASSES; i++)
    if (i != except && probabilities[i] > probabilities[best])
      best = i;
  return best;
}

static void
bind_item (GtkSignalListItemFactory *factory,
           GtkListItem              *list_item,
           DigitCellImages          *self)
{
  DigitCellItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *image = gtk_widget_get_first_child (box);
  GtkWidget *read = gtk_widget_get_next_sibling (image);
  GtkWidget *other = gtk_widget_get_next_sibling (read);
  const float *p = digit_evaluation_get_probabilities (self->evaluation, item->index);
  guint second = self->truth != self->predicted ? self->truth : runner_up (p, self->predicted);
  g_autofree char *read_text = NULL;
  g_autofree char *other_text = NULL;
  g_autofree char *description = NULL;

  g_object_set_data (G_OBJECT (image), "item", item);
  gtk_widget_queue_draw (image);
  /* Translators: what the model read and how sure it was, "9: 87%". */
  read_text = g_strdup_printf (_("%u: %.0f%%"), self->predicted, 100.0 * p[self->predicted]);
  gtk_label_set_text (GTK_LABEL (read), read_text);
  if (self->truth != self->predicted)
    /* Translators: the true digit and its probability, "true 4: 12%". */
    other_text = g_strdup_printf (_("true %u: %.1f%%"), second, 100.0 * p[second]);
  else
    /* Translators: the model's second choice and its probability. */
    other_text = g_strdup_printf (_("then %u: %.1f%%"), second, 100.0 * p[second]);
  gtk_label_set_text (GTK_LABEL (other), other_text);

  /* Translators: a test image for screen readers: its number in the test
   * set, then the two probabilities shown under it. */
  description = g_strdup_printf (_("Test image %u: %s, %s"), item->index + 1, read_text, other_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
  gtk_widget_set_tooltip_text (box, description);
}

static void
unbind_item (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             DigitCellImages          *self)
{
  GtkWidget *box = gtk_list_item_get_child (list_item);

  g_object_set_data (G_OBJECT (gtk_widget_get_first_child (box)), "item", NULL);
}

static void
digit_cell_images_dispose (GObject *object)
{
  DigitCellImages *self = DIGIT_CELL_IMAGES (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), DIGIT_TYPE_CELL_IMAGES);
  g_clear_pointer (&self->evaluation, digit_evaluation_unref);

  G_OBJECT_CLASS (digit_cell_images_parent_class)->dispose (object);
}

static void
digit_cell_images_class_init (DigitCellImagesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = digit_cell_images_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/digitlab/DigitLab/digit-cell-images.ui");
  gtk_widget_class_bind_template_child (widget_class, DigitCellImages, window_title);
  gtk_widget_class_bind_template_child (widget_class, DigitCellImages, grid);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close", NULL);
}

static void
digit_cell_images_init (DigitCellImages *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
digit_cell_images_new (GtkWindow       *parent,
                       DigitEvaluation *evaluation,
                       guint            truth,
                       guint            predicted,
                       const char      *title)
{
  DigitCellImages *self;
  g_autoptr(GArray) cell = NULL;
  g_autoptr(GListStore) store = NULL;
  g_autofree char *heading = NULL;
  g_autofree char *subtitle = NULL;
  GtkListItemFactory *factory;

  g_return_val_if_fail (evaluation != NULL, NULL);
  g_return_val_if_fail (truth < NN_CLASSES && predicted < NN_CLASSES, NULL);

  self = g_object_new (DIGIT_TYPE_CELL_IMAGES, "transient-for", parent, NULL);
  self->evaluation = digit_evaluation_ref (evaluation);
  self->truth = truth;
  self->predicted = predicted;

  cell = digit_evaluation_get_cell (evaluation, truth, predicted);
  store = g_list_store_new (DIGIT_TYPE_CELL_ITEM);
  for (guint i = 0; i < cell->len; i++)
    {
      g_autoptr(DigitCellItem) item = g_object_new (DIGIT_TYPE_CELL_ITEM, NULL);

      item->index = g_array_index (cell, guint, i);
      g_list_store_append (store, item);
    }

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_item), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_item), self);
  gtk_grid_view_set_factory (self->grid, factory);
  g_object_unref (factory);
  {
    g_autoptr(GtkNoSelection) selection = gtk_no_selection_new (G_LIST_MODEL (g_steal_pointer (&store)));

    gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (selection));
  }

  if (truth == predicted)
    /* Translators: a window's title: the images of digit %u read right. */
    heading = g_strdup_printf (_("%u Read Right"), truth);
  else
    /* Translators: a window's title: "4 Read as 9". */
    heading = g_strdup_printf (_("%u Read as %u"), truth, predicted);
  /* Translators: under the title: the run's name, then how many images. */
  subtitle = g_strdup_printf (ngettext ("%s · %'u test image, most confident first",
                                        "%s · %'u test images, most confident first", cell->len),
                              title, cell->len);
  adw_window_title_set_title (self->window_title, heading);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  gtk_window_set_title (GTK_WINDOW (self), heading);
  return GTK_WIDGET (self);
}
