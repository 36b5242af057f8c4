/* nn-drawing.c — what a person drew: strokes, undo/redo, painting and JSON.
 *
 * The canvas paints a drawing on screen with nn_drawing_paint, and the
 * rasterizer that feeds the network calls the very same function, so the
 * pixels the network sees are the ones the person saw. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>

#include "nn.h"
#include "nn-json-depth.h"

#define NN_DRAWING_MAX_SIDE 4096
/* {strokes: [[[x, y]]]} nests four deep. */
#define NN_DRAWING_MAX_DEPTH 8

typedef enum {
  ACTION_STROKE,   /* a stroke was added */
  ACTION_CLEAR,    /* every stroke was removed at once */
} ActionKind;

/* One step of history. On the undo stack a CLEAR holds the strokes it
 * removed; on the redo stack a STROKE holds the stroke that undo took away.
 * Otherwise @strokes is NULL: the strokes are in the drawing. */
typedef struct {
  ActionKind  kind;
  GPtrArray  *strokes;
} Action;

struct _NnDrawing {
  guint      width;
  guint      height;
  float      pen_width;
  GPtrArray *strokes;       /* GArray of NnPoint, one per stroke */
  GArray    *undo;          /* Action */
  GArray    *redo;          /* Action */
  gboolean   stroke_open;   /* extend_stroke may add to the last stroke */
};

static GPtrArray *
stroke_list_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
}

static void
action_clear (gpointer data)
{
  Action *action = data;
  g_clear_pointer (&action->strokes, g_ptr_array_unref);
}

static GArray *
action_stack_new (void)
{
  GArray *stack = g_array_new (FALSE, TRUE, sizeof (Action));
  g_array_set_clear_func (stack, action_clear);
  return stack;
}

/* Takes the last action off @stack without freeing what it holds. */
static Action
action_pop (GArray *stack)
{
  Action action = g_array_index (stack, Action, stack->len - 1);

  g_array_index (stack, Action, stack->len - 1).strokes = NULL;
  g_array_set_size (stack, stack->len - 1);
  return action;
}

static void
action_push (GArray *stack, ActionKind kind, GPtrArray *strokes)
{
  Action action = { kind, strokes };
  g_array_append_val (stack, action);
}

/* MNIST's digits are fitted into a 20x20 box and their strokes are 2 to 3
 * pixels wide: about 1/8 of the digit's height. People draw a digit over
 * roughly 70% of the canvas's shorter side, so a pen of 1/14 of that side is
 * 1/(14 x 0.7) = 1/10 of the digit: 2 pixels once the digit is scaled to 20,
 * like MNIST's strokes and never thicker. */
#define PEN_WIDTH_DIVISOR 14.0f

float
nn_pen_width_for_size (guint width, guint height, float scale)
{
  return scale * (float) MIN (width, height) / PEN_WIDTH_DIVISOR;
}

NnDrawing *
nn_drawing_new (guint width, guint height)
{
  NnDrawing *drawing;

  /* Cairo's image surfaces stop at 32767 pixels a side. */
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (width <= 32767 && height <= 32767, NULL);

  drawing = g_new0 (NnDrawing, 1);
  drawing->width = width;
  drawing->height = height;
  drawing->pen_width = nn_pen_width_for_size (width, height, 1.0f);
  drawing->strokes = stroke_list_new ();
  drawing->undo = action_stack_new ();
  drawing->redo = action_stack_new ();
  return drawing;
}

static GPtrArray *
stroke_list_copy (const GPtrArray *strokes)
{
  GPtrArray *copy;

  if (strokes == NULL)
    return NULL;
  copy = stroke_list_new ();
  for (guint i = 0; i < strokes->len; i++)
    g_ptr_array_add (copy, g_array_copy (g_ptr_array_index (strokes, i)));
  return copy;
}

static GArray *
action_stack_copy (const GArray *stack)
{
  GArray *copy = action_stack_new ();

  for (guint i = 0; i < stack->len; i++)
    {
      const Action *action = &g_array_index (stack, Action, i);
      action_push (copy, action->kind, stroke_list_copy (action->strokes));
    }
  return copy;
}

NnDrawing *
nn_drawing_copy (const NnDrawing *drawing)
{
  NnDrawing *copy;

  g_return_val_if_fail (drawing != NULL, NULL);

  copy = g_new0 (NnDrawing, 1);
  copy->width = drawing->width;
  copy->height = drawing->height;
  copy->pen_width = drawing->pen_width;
  copy->strokes = stroke_list_copy (drawing->strokes);
  copy->undo = action_stack_copy (drawing->undo);
  copy->redo = action_stack_copy (drawing->redo);
  copy->stroke_open = drawing->stroke_open;
  return copy;
}

void
nn_drawing_free (NnDrawing *drawing)
{
  if (drawing == NULL)
    return;
  g_ptr_array_unref (drawing->strokes);
  g_array_unref (drawing->undo);
  g_array_unref (drawing->redo);
  g_free (drawing);
}

guint
nn_drawing_get_width (const NnDrawing *drawing)
{
  return drawing->width;
}

guint
nn_drawing_get_height (const NnDrawing *drawing)
{
  return drawing->height;
}

void
nn_drawing_set_pen_width (NnDrawing *drawing, float pen_width)
{
  g_return_if_fail (isfinite (pen_width) && pen_width > 0.0f);
  drawing->pen_width = pen_width;
}

float
nn_drawing_get_pen_width (const NnDrawing *drawing)
{
  return drawing->pen_width;
}

/* ---- Strokes and history ------------------------------------------------- */

void
nn_drawing_begin_stroke (NnDrawing *drawing, float x, float y)
{
  GArray *stroke;
  NnPoint point = { x, y };

  g_return_if_fail (isfinite (x) && isfinite (y));

  stroke = g_array_new (FALSE, FALSE, sizeof (NnPoint));
  g_array_append_val (stroke, point);
  g_ptr_array_add (drawing->strokes, stroke);
  action_push (drawing->undo, ACTION_STROKE, NULL);
  g_array_set_size (drawing->redo, 0);
  drawing->stroke_open = TRUE;
}

void
nn_drawing_extend_stroke (NnDrawing *drawing, float x, float y)
{
  GArray *stroke;
  const NnPoint *last;
  NnPoint point = { x, y };

  g_return_if_fail (isfinite (x) && isfinite (y));

  /* After an undo or a clear in the middle of a drag there is no stroke to
   * extend: the rest of the drag becomes a new one. */
  if (!drawing->stroke_open)
    {
      nn_drawing_begin_stroke (drawing, x, y);
      return;
    }

  stroke = g_ptr_array_index (drawing->strokes, drawing->strokes->len - 1);
  last = &g_array_index (stroke, NnPoint, stroke->len - 1);
  /* Pointer devices repeat positions; a repeated point adds nothing. */
  if (last->x == x && last->y == y)
    return;
  g_array_append_val (stroke, point);
}

guint
nn_drawing_get_n_strokes (const NnDrawing *drawing)
{
  return drawing->strokes->len;
}

const NnPoint *
nn_drawing_get_stroke (const NnDrawing *drawing, guint index, guint *n_points)
{
  GArray *stroke;

  g_return_val_if_fail (index < drawing->strokes->len, NULL);

  stroke = g_ptr_array_index (drawing->strokes, index);
  if (n_points != NULL)
    *n_points = stroke->len;
  return (const NnPoint *) stroke->data;
}

gboolean
nn_drawing_is_empty (const NnDrawing *drawing)
{
  return drawing->strokes->len == 0;
}

gboolean
nn_drawing_can_undo (const NnDrawing *drawing)
{
  return drawing->undo->len > 0;
}

gboolean
nn_drawing_can_redo (const NnDrawing *drawing)
{
  return drawing->redo->len > 0;
}

gboolean
nn_drawing_undo (NnDrawing *drawing)
{
  Action action;

  if (drawing->undo->len == 0)
    return FALSE;

  drawing->stroke_open = FALSE;
  action = action_pop (drawing->undo);
  if (action.kind == ACTION_STROKE)
    {
      /* Strokes added after it were undone first, so it is the last one. */
      action.strokes = stroke_list_new ();
      g_ptr_array_add (action.strokes, g_ptr_array_steal_index (drawing->strokes, drawing->strokes->len - 1));
    }
  else
    {
      /* Nothing can have been drawn after the clear without being undone
       * first, so the drawing is empty: the cleared strokes come back. */
      g_ptr_array_unref (drawing->strokes);
      drawing->strokes = g_steal_pointer (&action.strokes);
    }
  action_push (drawing->redo, action.kind, action.strokes);
  return TRUE;
}

gboolean
nn_drawing_redo (NnDrawing *drawing)
{
  Action action;

  if (drawing->redo->len == 0)
    return FALSE;

  drawing->stroke_open = FALSE;
  action = action_pop (drawing->redo);
  if (action.kind == ACTION_STROKE)
    {
      g_ptr_array_add (drawing->strokes, g_ptr_array_steal_index (action.strokes, 0));
      g_clear_pointer (&action.strokes, g_ptr_array_unref);
    }
  else
    {
      action.strokes = drawing->strokes;
      drawing->strokes = stroke_list_new ();
    }
  action_push (drawing->undo, action.kind, action.strokes);
  return TRUE;
}

void
nn_drawing_clear (NnDrawing *drawing)
{
  drawing->stroke_open = FALSE;
  if (drawing->strokes->len == 0)
    return;   /* nothing that an undo could bring back */

  action_push (drawing->undo, ACTION_CLEAR, drawing->strokes);
  drawing->strokes = stroke_list_new ();
  g_array_set_size (drawing->redo, 0);
}

/* ---- Painting -------------------------------------------------------------- */

/* A quadratic Bézier from the current point through control (@cx, @cy) to
 * (@x, @y), as Cairo's cubic. */
static void
quad_to (cairo_t *cr, double cx, double cy, double x, double y)
{
  double x0, y0;

  cairo_get_current_point (cr, &x0, &y0);
  cairo_curve_to (cr,
                  x0 + 2.0 / 3.0 * (cx - x0), y0 + 2.0 / 3.0 * (cy - y0),
                  x + 2.0 / 3.0 * (cx - x), y + 2.0 / 3.0 * (cy - y),
                  x, y);
}

/* Mouse events come every few pixels, so joining them with straight lines
 * shows corners. Instead the path runs through the midpoints of successive
 * points with each point as a control: the curve is smooth, stays inside the
 * polyline's hull, and still passes through both ends. */
static void
append_stroke (cairo_t *cr, const NnPoint *points, guint n)
{
  guint last = 0;

  cairo_move_to (cr, points[0].x, points[0].y);
  for (guint i = 1; i < n; i++)
    {
      /* A repeated point would make a zero-length piece, and a curve's
       * direction undefined there. */
      if (points[i].x == points[last].x && points[i].y == points[last].y)
        continue;

      if (last == 0)
        cairo_line_to (cr,
                       (points[0].x + points[i].x) / 2.0,
                       (points[0].y + points[i].y) / 2.0);
      else
        quad_to (cr, points[last].x, points[last].y,
                 (points[last].x + points[i].x) / 2.0,
                 (points[last].y + points[i].y) / 2.0);
      last = i;
    }

  /* The end: a straight half-segment to the last point, or, for a stroke
   * that never moved, a zero-length line that the round cap turns into a
   * dot the size of the pen. */
  cairo_line_to (cr, points[last].x, points[last].y);
}

void
nn_drawing_paint (const NnDrawing *drawing, cairo_t *cr)
{
  g_return_if_fail (drawing != NULL);
  g_return_if_fail (cr != NULL);

  cairo_save (cr);
  cairo_set_line_width (cr, drawing->pen_width);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < drawing->strokes->len; i++)
    {
      GArray *stroke = g_ptr_array_index (drawing->strokes, i);
      append_stroke (cr, (const NnPoint *) stroke->data, stroke->len);
    }
  /* One stroke of the whole path: where strokes cross, a translucent
   * source is not painted twice. */
  cairo_stroke (cr);
  cairo_restore (cr);
}

float *
nn_drawing_rasterize (const NnDrawing *drawing)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  const guint8 *pixels;
  float *raster;
  int stride;

  g_return_val_if_fail (drawing != NULL, NULL);

  /* Alpha only: ink coverage is all the network needs. */
  surface = cairo_image_surface_create (CAIRO_FORMAT_A8, (int) drawing->width, (int) drawing->height);
  cr = cairo_create (surface);
  cairo_set_source_rgba (cr, 0, 0, 0, 1);
  nn_drawing_paint (drawing, cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);

  pixels = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  raster = g_new (float, (gsize) drawing->width * drawing->height);
  for (guint y = 0; y < drawing->height; y++)
    for (guint x = 0; x < drawing->width; x++)
      raster[(gsize) y * drawing->width + x] = pixels[(gsize) y * stride + x] / 255.0f;

  cairo_surface_destroy (surface);
  return raster;
}

/* ---- JSON ------------------------------------------------------------------ */

static gboolean
get_number (JsonNode *node, double *out)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return FALSE;
  *out = json_node_get_double (node);
  return isfinite (*out);
}

static gboolean
get_side (JsonObject *object, const char *name, guint *out, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);
  double value;

  if (node == NULL)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("The drawing has no “%s”"), name);
      return FALSE;
    }
  if (!get_number (node, &value) || value != floor (value) ||
      value < 1 || value > NN_DRAWING_MAX_SIDE)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("The drawing's “%s” must be a whole number from 1 to %d"),
                   name, NN_DRAWING_MAX_SIDE);
      return FALSE;
    }
  *out = (guint) value;
  return TRUE;
}

static gboolean
read_point (NnDrawing *drawing, JsonNode *node, guint stroke, guint index,
            NnPoint *point, GError **error)
{
  JsonArray *pair;
  double x, y;
  /* Points a little outside the canvas are normal (the pointer left it
   * mid-stroke); far outside, they are nonsense that would still cost
   * rendering time. */
  double margin_x = drawing->width, margin_y = drawing->height;

  if (!JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (pair = json_node_get_array (node)) != 2 ||
      !get_number (json_array_get_element (pair, 0), &x) ||
      !get_number (json_array_get_element (pair, 1), &y))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("Point %u of stroke %u is not a pair of finite numbers [x, y]"),
                   index + 1, stroke + 1);
      return FALSE;
    }
  if (x < -margin_x || x > drawing->width + margin_x ||
      y < -margin_y || y > drawing->height + margin_y)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("Point %u of stroke %u (%g, %g) is far outside the %ux%u canvas"),
                   index + 1, stroke + 1, x, y, drawing->width, drawing->height);
      return FALSE;
    }
  point->x = (float) x;
  point->y = (float) y;
  return TRUE;
}

static gboolean
read_strokes (NnDrawing *drawing, JsonNode *node, GError **error)
{
  JsonArray *strokes;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("The drawing's “strokes” must be an array of strokes"));
      return FALSE;
    }

  strokes = json_node_get_array (node);
  for (guint s = 0; s < json_array_get_length (strokes); s++)
    {
      JsonNode *stroke_node = json_array_get_element (strokes, s);
      JsonArray *points;
      guint n;

      if (!JSON_NODE_HOLDS_ARRAY (stroke_node) ||
          (n = json_array_get_length (points = json_node_get_array (stroke_node))) == 0)
        {
          g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                       _("Stroke %u is not a non-empty array of points"), s + 1);
          return FALSE;
        }
      for (guint i = 0; i < n; i++)
        {
          NnPoint point;

          if (!read_point (drawing, json_array_get_element (points, i), s, i, &point, error))
            return FALSE;
          if (i == 0)
            nn_drawing_begin_stroke (drawing, point.x, point.y);
          else
            nn_drawing_extend_stroke (drawing, point.x, point.y);
        }
    }
  drawing->stroke_open = FALSE;
  return TRUE;
}

NnDrawing *
nn_drawing_from_json (const char *json, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) json_error = NULL;
  g_autoptr(NnDrawing) drawing = NULL;
  JsonObject *object;
  JsonNode *root, *pen;
  guint width, height;

  g_return_val_if_fail (json != NULL, NULL);

  if (!nn_json_depth_ok (json, -1, NN_DRAWING_MAX_DEPTH))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("The drawing is not valid: its JSON is nested too deeply"));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, json, -1, &json_error))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("The drawing is not valid JSON: %s"), json_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                   _("A drawing must be a JSON object with “width”, “height” and “strokes”"));
      return NULL;
    }
  object = json_node_get_object (root);

  if (!get_side (object, "width", &width, error) ||
      !get_side (object, "height", &height, error))
    return NULL;
  drawing = nn_drawing_new (width, height);

  pen = json_object_get_member (object, "pen_width");
  if (pen != NULL)
    {
      double value;

      if (!get_number (pen, &value) || value <= 0 || value > MAX (width, height))
        {
          g_set_error (error, NN_ERROR, NN_ERROR_DRAWING,
                       _("The drawing's “pen_width” must be a number above 0 "
                         "and at most the canvas's size"));
          return NULL;
        }
      drawing->pen_width = (float) value;
    }

  if (!read_strokes (drawing, json_object_get_member (object, "strokes"), error))
    return NULL;

  /* A drawing read from a file starts with no history. */
  g_array_set_size (drawing->undo, 0);
  return g_steal_pointer (&drawing);
}

/* The shortest decimal that reads back as the same float, so files stay
 * small and exact. */
static void
append_float (GString *out, float value)
{
  static const char *const formats[] = { "%.6g", "%.7g", "%.8g", "%.9g" };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* Nine significant digits always read back exactly. */
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
      if ((float) g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

char *
nn_drawing_to_json (const NnDrawing *drawing)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (drawing != NULL, NULL);

  g_string_append_printf (out, "{\"width\": %u, \"height\": %u, \"pen_width\": ",
                          drawing->width, drawing->height);
  append_float (out, drawing->pen_width);
  g_string_append (out, ", \"strokes\": [");
  for (guint s = 0; s < drawing->strokes->len; s++)
    {
      GArray *stroke = g_ptr_array_index (drawing->strokes, s);

      g_string_append (out, s == 0 ? "\n  [" : ",\n  [");
      for (guint i = 0; i < stroke->len; i++)
        {
          const NnPoint *p = &g_array_index (stroke, NnPoint, i);

          g_string_append (out, i == 0 ? "[" : ", [");
          append_float (out, p->x);
          g_string_append (out, ", ");
          append_float (out, p->y);
          g_string_append_c (out, ']');
        }
      g_string_append_c (out, ']');
    }
  g_string_append (out, drawing->strokes->len > 0 ? "\n]}\n" : "]}\n");
  return g_string_free (out, FALSE);
}
