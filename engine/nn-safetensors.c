/* nn-safetensors.c — the safetensors container, written and read strictly.
 *
 * Layout (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON, then the data area. The
 * JSON object maps each tensor name to {"dtype", "shape", "data_offsets":
 * [begin, end]} with offsets relative to the data area, plus an optional
 * "__metadata__" object of strings. Files come from anywhere, so nothing in
 * one is trusted until all of it has been checked: sizes, offsets (which must
 * tile the data area exactly, as the format requires) and every value. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "nn-json-depth.h"
#include "nn-safetensors.h"

/* The reference implementation's limit: a header is a few kilobytes; this
 * bound only stops a corrupt length from allocating gigabytes. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)
/* Our headers nest three deep ({name: {shape: [...]}}). */
#define ST_MAX_DEPTH 16
#define ST_METADATA_KEY "__metadata__"

typedef struct {
  char   *name;
  guint   ndim;
  guint64 shape[4];
  gsize   begin;   /* bytes, relative to the data area */
  gsize   end;
} StTensor;

struct _NnSafetensors {
  GBytes       *bytes;
  const guint8 *data;         /* the data area */
  gsize         data_size;
  GArray       *tensors;      /* StTensor, sorted by offset: file order */
  GHashTable   *by_name;      /* name -> StTensor * (into tensors) */
  GHashTable   *metadata;     /* string -> string */
};

static void
st_tensor_clear (gpointer item)
{
  g_free (((StTensor *) item)->name);
}

void
nn_safetensors_free (NnSafetensors *st)
{
  if (st == NULL)
    return;
  g_bytes_unref (st->bytes);
  g_hash_table_unref (st->by_name);
  g_array_unref (st->tensors);
  g_hash_table_unref (st->metadata);
  g_free (st);
}

/* ---- Writing ------------------------------------------------------------ */

static gsize
ref_n_elements (const NnStTensorRef *ref)
{
  gsize n = 1;
  for (guint d = 0; d < ref->ndim; d++)
    n *= ref->shape[d];
  return n;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GBytes *
nn_safetensors_serialize (const NnStTensorRef *tensors,
                          guint                n_tensors,
                          GHashTable          *metadata)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *header = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GByteArray *out;
  gsize header_len, padded_len, offset = 0;
  guint64 header_len_le;

  json_builder_begin_object (builder);

  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      /* Sorted, so the same model always gives the same bytes. */
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
      guint n_keys = g_hash_table_size (metadata);

      qsort (keys, n_keys, sizeof (gpointer), compare_strings);
      json_builder_set_member_name (builder, ST_METADATA_KEY);
      json_builder_begin_object (builder);
      for (guint i = 0; i < n_keys; i++)
        {
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_string_value (builder, g_hash_table_lookup (metadata, keys[i]));
        }
      json_builder_end_object (builder);
    }

  for (guint i = 0; i < n_tensors; i++)
    {
      const NnStTensorRef *ref = &tensors[i];
      gsize size = ref_n_elements (ref) * sizeof (float);

      g_return_val_if_fail (ref->ndim <= 4, NULL);
      g_return_val_if_fail (strcmp (ref->name, ST_METADATA_KEY) != 0, NULL);
      g_return_val_if_fail (g_hash_table_add (seen, (gpointer) ref->name), NULL);

      json_builder_set_member_name (builder, ref->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint d = 0; d < ref->ndim; d++)
        json_builder_add_int_value (builder, (gint64) ref->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + size));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += size;
    }

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  header = json_generator_to_data (generator, &header_len);

  /* Spaces after the JSON so the data area starts 8-byte aligned, as the
   * reference implementation writes it (readers may then map it directly). */
  padded_len = header_len + (8 - (8 + header_len) % 8) % 8;
  header_len_le = GUINT64_TO_LE ((guint64) padded_len);

  out = g_byte_array_sized_new (8 + padded_len + offset);
  g_byte_array_append (out, (const guint8 *) &header_len_le, 8);
  g_byte_array_append (out, (const guint8 *) header, header_len);
  for (gsize i = header_len; i < padded_len; i++)
    g_byte_array_append (out, (const guint8 *) " ", 1);

  for (guint i = 0; i < n_tensors; i++)
    {
      const NnStTensorRef *ref = &tensors[i];
      gsize n = ref_n_elements (ref);

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      g_byte_array_append (out, (const guint8 *) ref->data, n * sizeof (float));
#else
      for (gsize k = 0; k < n; k++)
        {
          guint32 bits;
          memcpy (&bits, &ref->data[k], 4);
          bits = GUINT32_TO_LE (bits);
          g_byte_array_append (out, (const guint8 *) &bits, 4);
        }
#endif
    }

  return g_byte_array_free_to_bytes (out);
}

gboolean
nn_safetensors_write (const char          *path,
                      const NnStTensorRef *tensors,
                      guint                n_tensors,
                      GHashTable          *metadata,
                      GError             **error)
{
  g_autoptr(GBytes) bytes = nn_safetensors_serialize (tensors, n_tensors, metadata);
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (bytes != NULL, FALSE);

  /* CONSISTENT: a temporary file beside @path, fsynced, then renamed over
   * it, so a crash or a full disk never leaves half a model behind. */
  if (!g_file_set_contents_full (path,
                                 g_bytes_get_data (bytes, NULL),
                                 (gssize) g_bytes_get_size (bytes),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0666,
                                 &local_error))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, NN_ERROR, NN_ERROR_IO,
                   _("Could not save “%s”: %s"), display, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- Reading ------------------------------------------------------------ */

/* A JSON integer >= 0; json-glib keeps integers as gint64 and anything with
 * a fraction or exponent as a double, which is refused. */
static gboolean
get_size_value (JsonNode *node, guint64 *out)
{
  gint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  value = json_node_get_int (node);
  if (value < 0)
    return FALSE;
  *out = (guint64) value;
  return TRUE;
}

static gboolean
parse_metadata (NnSafetensors *st, JsonNode *node, GError **error)
{
  JsonObject *object;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                   _("“__metadata__” is not a JSON object"));
      return FALSE;
    }

  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (object, l->data);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_METADATA,
                       _("metadata “%s” is not a string"), (const char *) l->data);
          return FALSE;
        }
      g_hash_table_insert (st->metadata, g_strdup (l->data),
                           g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

static gboolean
parse_tensor (NnSafetensors *st,
              const char    *name,
              JsonNode      *node,
              StTensor      *tensor,
              GError       **error)
{
  JsonObject *object;
  JsonNode *dtype, *shape, *offsets;
  JsonArray *array;
  guint64 begin, end, n_elements = 1;
  gboolean too_big = FALSE, has_zero = FALSE;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_JSON,
                   _("the header entry for tensor “%s” is not a JSON object"), name);
      return FALSE;
    }
  object = json_node_get_object (node);
  dtype = json_object_get_member (object, "dtype");
  shape = json_object_get_member (object, "shape");
  offsets = json_object_get_member (object, "data_offsets");

  if (dtype == NULL || !JSON_NODE_HOLDS_VALUE (dtype) ||
      json_node_get_value_type (dtype) != G_TYPE_STRING)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_JSON,
                   _("tensor “%s” has no “dtype” string"), name);
      return FALSE;
    }
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_DTYPE,
                   _("tensor “%s” is %s; Digit Lab reads only F32 tensors"),
                   name, json_node_get_string (dtype));
      return FALSE;
    }

  if (shape == NULL || !JSON_NODE_HOLDS_ARRAY (shape))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                   _("tensor “%s” has no “shape” array"), name);
      return FALSE;
    }
  array = json_node_get_array (shape);
  tensor->ndim = json_array_get_length (array);
  if (tensor->ndim > G_N_ELEMENTS (tensor->shape))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                   _("tensor “%s” has %u dimensions; Digit Lab reads at most 4"),
                   name, tensor->ndim);
      return FALSE;
    }
  for (guint d = 0; d < tensor->ndim; d++)
    {
      if (!get_size_value (json_array_get_element (array, d), &tensor->shape[d]))
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                       _("dimension %u of tensor “%s” is not a non-negative integer"),
                       d + 1, name);
          return FALSE;
        }
      if (tensor->shape[d] == 0)
        has_zero = TRUE;
    }
  /* No tensor can have more elements than the file has bytes; checking
   * that dimension by dimension keeps the product from overflowing. */
  for (guint d = 0; d < tensor->ndim && !has_zero && !too_big; d++)
    {
      if (n_elements > st->data_size / tensor->shape[d])
        too_big = TRUE;
      else
        n_elements *= tensor->shape[d];
    }
  if (has_zero)
    n_elements = 0;

  if (offsets == NULL || !JSON_NODE_HOLDS_ARRAY (offsets) ||
      json_array_get_length (json_node_get_array (offsets)) != 2 ||
      !get_size_value (json_array_get_element (json_node_get_array (offsets), 0), &begin) ||
      !get_size_value (json_array_get_element (json_node_get_array (offsets), 1), &end))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                   _("tensor “%s” has no valid “data_offsets” pair"), name);
      return FALSE;
    }
  if (begin > end)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                   _("the data offsets of tensor “%s” run backwards (%" PRIu64
                     " to %" PRIu64 ")"), name, begin, end);
      return FALSE;
    }
  if (end > st->data_size)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                   _("tensor “%s” lies at bytes %" PRIu64 " to %" PRIu64
                     ", outside the %zu bytes of data"), name, begin, end, st->data_size);
      return FALSE;
    }
  if (too_big || n_elements * sizeof (float) != end - begin)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                   _("the shape of tensor “%s” does not match its %" PRIu64
                     " bytes of data"), name, end - begin);
      return FALSE;
    }

  tensor->name = g_strdup (name);
  tensor->begin = begin;
  tensor->end = end;
  return TRUE;
}

static int
compare_offsets (gconstpointer a, gconstpointer b)
{
  const StTensor *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* The format requires the tensors to tile the data area: no overlap (a
 * crafted file could alias two tensors), no holes, nothing after the end. */
static gboolean
check_tiling (NnSafetensors *st, GError **error)
{
  gsize covered = 0;

  g_array_sort (st->tensors, compare_offsets);
  for (guint i = 0; i < st->tensors->len; i++)
    {
      const StTensor *t = &g_array_index (st->tensors, StTensor, i);

      if (t->begin < covered)
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                       _("tensor “%s” overlaps tensor “%s”"), t->name,
                       g_array_index (st->tensors, StTensor, i - 1).name);
          return FALSE;
        }
      if (t->begin > covered)
        {
          g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                       _("bytes %zu to %zu of the data belong to no tensor"),
                       covered, t->begin);
          return FALSE;
        }
      covered = t->end;
    }
  if (covered != st->data_size)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_OFFSETS,
                   _("%zu bytes follow the last tensor"),
                   st->data_size - covered);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_finite (NnSafetensors *st, GError **error)
{
  for (guint i = 0; i < st->tensors->len; i++)
    {
      const StTensor *t = &g_array_index (st->tensors, StTensor, i);
      const guint8 *p = st->data + t->begin;
      gsize n = (t->end - t->begin) / sizeof (float);

      for (gsize k = 0; k < n; k++)
        {
          guint32 bits;

          memcpy (&bits, p + k * 4, 4);
          /* All exponent bits set: infinity or NaN, whatever the byte order
           * of the host once the value is read as little-endian. */
          if ((GUINT32_FROM_LE (bits) & 0x7f800000u) == 0x7f800000u)
            {
              g_set_error (error, NN_ERROR, NN_ERROR_MODEL_NONFINITE,
                           _("tensor “%s” holds a value that is not finite "
                             "(NaN or infinity) at element %zu"),
                           t->name, k);
              return FALSE;
            }
        }
    }
  return TRUE;
}

NnSafetensors *
nn_safetensors_parse (GBytes *bytes, GError **error)
{
  g_autoptr(NnSafetensors) st = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GList) members = NULL;
  const guint8 *contents;
  JsonObject *object;
  gsize size;
  guint64 header_len;

  g_return_val_if_fail (bytes != NULL, NULL);

  st = g_new0 (NnSafetensors, 1);
  st->bytes = g_bytes_ref (bytes);
  st->tensors = g_array_new (FALSE, TRUE, sizeof (StTensor));
  g_array_set_clear_func (st->tensors, st_tensor_clear);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  contents = g_bytes_get_data (bytes, &size);
  if (size < 8)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_HEADER_SIZE,
                   _("%zu bytes are too few for a safetensors file"), size);
      return NULL;
    }
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len < 2 || header_len > ST_MAX_HEADER || header_len > size - 8)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_HEADER_SIZE,
                   _("the header length %" PRIu64 " is impossible for a "
                     "file of %zu bytes; this is not a safetensors "
                     "file, or it is damaged"), header_len, size);
      return NULL;
    }
  st->data = contents + 8 + header_len;
  st->data_size = size - 8 - header_len;

  if (!nn_json_depth_ok ((const char *) contents + 8, (gssize) header_len, ST_MAX_DEPTH))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_JSON,
                   _("the header's JSON is nested too deeply"));
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) contents + 8, (gssize) header_len, &json_error))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_JSON,
                   _("the header is not valid JSON: %s"), json_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_JSON,
                   _("the header is not a JSON object"));
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      StTensor tensor = { 0 };

      if (strcmp (name, ST_METADATA_KEY) == 0)
        {
          if (!parse_metadata (st, node, error))
            return NULL;
          continue;
        }
      if (!parse_tensor (st, name, node, &tensor, error))
        return NULL;
      g_array_append_val (st->tensors, tensor);
    }

  if (!check_tiling (st, error) || !check_finite (st, error))
    return NULL;

  /* Only now that the array no longer moves. */
  for (guint i = 0; i < st->tensors->len; i++)
    {
      StTensor *t = &g_array_index (st->tensors, StTensor, i);
      g_hash_table_insert (st->by_name, t->name, t);
    }

  return g_steal_pointer (&st);
}

NnSafetensors *
nn_safetensors_read (const char *path, GError **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  NnSafetensors *st;
  char *contents;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IO,
                   _("Could not read “%s”: %s"), display, local_error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (contents, len);

  st = nn_safetensors_parse (bytes, error);
  if (st == NULL)
    g_prefix_error (error, _("“%s”: "), display);
  return st;
}

const char *
nn_safetensors_get_metadata (NnSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

char **
nn_safetensors_list_metadata (NnSafetensors *st)
{
  char **keys = (char **) g_hash_table_get_keys_as_array (st->metadata, NULL);
  guint n = g_hash_table_size (st->metadata);
  char **copy = g_new0 (char *, n + 1);

  qsort (keys, n, sizeof (char *), compare_strings);
  for (guint i = 0; i < n; i++)
    copy[i] = g_strdup (keys[i]);
  g_free (keys);
  return copy;
}

char **
nn_safetensors_list_tensors (NnSafetensors *st)
{
  char **names = g_new0 (char *, st->tensors->len + 1);

  for (guint i = 0; i < st->tensors->len; i++)
    names[i] = g_strdup (g_array_index (st->tensors, StTensor, i).name);
  return names;
}

gboolean
nn_safetensors_get_shape (NnSafetensors *st,
                          const char    *name,
                          guint         *ndim,
                          guint64        shape[4])
{
  const StTensor *t = g_hash_table_lookup (st->by_name, name);

  if (t == NULL)
    return FALSE;
  *ndim = t->ndim;
  for (guint d = 0; d < 4; d++)
    shape[d] = d < t->ndim ? t->shape[d] : 0;
  return TRUE;
}

gboolean
nn_safetensors_copy_tensor (NnSafetensors *st,
                            const char    *name,
                            float         *dest,
                            gsize          n_elements,
                            GError       **error)
{
  const StTensor *t = g_hash_table_lookup (st->by_name, name);
  gsize n;

  if (t == NULL)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_MISSING_TENSOR,
                   _("there is no tensor “%s”"), name);
      return FALSE;
    }
  n = (t->end - t->begin) / sizeof (float);
  if (n != n_elements)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_MODEL_SHAPE,
                   _("tensor “%s” has %zu elements, %zu were expected"),
                   name, n, n_elements);
      return FALSE;
    }

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (dest, st->data + t->begin, n * sizeof (float));
#else
  for (gsize k = 0; k < n; k++)
    {
      guint32 bits;
      memcpy (&bits, st->data + t->begin + k * 4, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&dest[k], &bits, 4);
    }
#endif
  return TRUE;
}
