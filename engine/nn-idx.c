/* nn-idx.c — reads and checks one IDX file (MNIST's image and label files).
 *
 * IDX is a big-endian header (a magic number whose third byte is the element
 * type, 0x08 = unsigned byte, and whose fourth is the number of dimensions,
 * then one u32 per dimension) followed by the raw items. Files are often
 * gzipped; that is detected from the content, never the name. Every check
 * gets its own NnError code so a caller can say exactly what is wrong. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "nn-idx.h"

#define IDX_MAGIC_IMAGES 2051u   /* 0x00000803: unsigned bytes, 3 dimensions */
#define IDX_MAGIC_LABELS 2049u   /* 0x00000801: unsigned bytes, 1 dimension */

/* Larger than any data set of the MNIST family (EMNIST ByClass is about
 * 640 MB); it only keeps a corrupt header or a gzip bomb from exhausting
 * memory, and keeps sizes within a GByteArray's 32-bit length. */
#define IDX_MAX_PAYLOAD ((guint64) 2 << 30)

typedef struct {
  gsize header_size;
  guint count;
  guint rows;
  guint cols;
  gsize payload_size;
} IdxHeader;

static guint32
read_be32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_BE (v);
}

static gsize
header_size_for (NnIdxKind kind)
{
  return kind == NN_IDX_IMAGES ? 16 : 8;
}

static gboolean
fail_truncated (const char *display, GError **error)
{
  g_set_error (error, NN_ERROR, NN_ERROR_IDX_TRUNCATED,
               _("“%s” is truncated: it ends before its header does"), display);
  return FALSE;
}

/* Checks whatever part of the header @len bytes hold, and fills @header once
 * all of it is there. */
static gboolean
parse_header (const guint8 *data,
              gsize         len,
              NnIdxKind     kind,
              const char   *display,
              IdxHeader    *header,
              GError      **error)
{
  guint32 expected = kind == NN_IDX_IMAGES ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
  guint32 magic;

  if (len < 4)
    return fail_truncated (display, error);

  magic = read_be32 (data);
  if (magic != expected)
    {
      if (kind == NN_IDX_IMAGES && magic == IDX_MAGIC_LABELS)
        g_set_error (error, NN_ERROR, NN_ERROR_IDX_MAGIC,
                     _("“%s” is a label file, but an image file was expected "
                       "(magic number 2049 instead of 2051)"), display);
      else if (kind == NN_IDX_LABELS && magic == IDX_MAGIC_IMAGES)
        g_set_error (error, NN_ERROR, NN_ERROR_IDX_MAGIC,
                     _("“%s” is an image file, but a label file was expected "
                       "(magic number 2051 instead of 2049)"), display);
      else
        g_set_error (error, NN_ERROR, NN_ERROR_IDX_MAGIC,
                     _("“%s” is not an IDX %s file: its magic number is %u, "
                       "expected %u"), display,
                     kind == NN_IDX_IMAGES ? _("image") : _("label"),
                     magic, expected);
      return FALSE;
    }

  if (len < header_size_for (kind))
    return fail_truncated (display, error);

  header->header_size = header_size_for (kind);
  header->count = read_be32 (data + 4);
  header->rows = kind == NN_IDX_IMAGES ? read_be32 (data + 8) : 1;
  header->cols = kind == NN_IDX_IMAGES ? read_be32 (data + 12) : 1;

  if (header->count == 0)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_DIMENSIONS,
                   _("“%s” holds no items (its header says 0)"), display);
      return FALSE;
    }
  if (kind == NN_IDX_IMAGES &&
      (header->rows != NN_IMAGE_SIDE || header->cols != NN_IMAGE_SIDE))
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_DIMENSIONS,
                   _("“%s” holds %ux%u images; Digit Lab needs 28x28"),
                   display, header->rows, header->cols);
      return FALSE;
    }
  if ((guint64) header->count * header->rows * header->cols > IDX_MAX_PAYLOAD)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_DIMENSIONS,
                   _("“%s” claims %u items, far more than any data set "
                     "Digit Lab can hold"), display, header->count);
      return FALSE;
    }

  header->payload_size = (gsize) header->count * header->rows * header->cols;
  return TRUE;
}

static gboolean
check_size (gsize             len,
            const IdxHeader  *header,
            const char       *display,
            GError          **error)
{
  gsize expected = header->header_size + header->payload_size;

  if (len < expected)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_TRUNCATED,
                   _("“%s” is truncated: its header promises %u items "
                     "(%zu bytes) but only %zu bytes follow it"),
                   display, header->count, header->payload_size,
                   len - header->header_size);
      return FALSE;
    }
  if (len > expected)
    {
      g_set_error (error, NN_ERROR, NN_ERROR_IDX_TRAILING,
                   _("“%s” has unexpected bytes after its %u items: "
                     "the header and the file size disagree"),
                   display, header->count);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fail_gzip (const char *display, const char *reason, GError **error)
{
  g_set_error (error, NN_ERROR, NN_ERROR_IDX_COMPRESSION,
               _("“%s” is not a valid gzip file: %s"), display, reason);
  return FALSE;
}

/* Inflates a whole gzip file into @out. The IDX header is checked as soon as
 * it has been inflated, and inflating stops one byte past the size it
 * promises, so neither a wrong file nor a gzip bomb costs much memory. */
static gboolean
inflate_idx (const guint8  *in,
             gsize          in_len,
             NnIdxKind      kind,
             const char    *display,
             GByteArray    *out,
             IdxHeader     *header,
             GError       **error)
{
  g_autoptr(GZlibDecompressor) inflater = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  gsize in_pos = 0, out_len = 0;
  gsize limit = G_MAXSIZE;   /* known once the header is */
  gboolean have_header = FALSE;
  guint32 size_hint = 0;

  /* The gzip trailer holds the inflated size modulo 2^32: a good first
   * guess for the buffer, never trusted beyond that. */
  memcpy (&size_hint, in + in_len - MIN (in_len, 4), MIN (in_len, 4));
  g_byte_array_set_size (out, CLAMP (GUINT32_FROM_LE (size_hint) + 1u, 1u << 16, 1u << 28));

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gsize n_read = 0, n_written = 0;
      GConverterResult result;

      if (out->len - out_len < (1u << 16) && out->len < limit)
        g_byte_array_set_size (out, MIN (out->len + MIN (out->len, 1u << 28), limit));

      result = g_converter_convert (G_CONVERTER (inflater),
                                    in + in_pos, in_len - in_pos,
                                    out->data + out_len, out->len - out_len,
                                    G_CONVERTER_INPUT_AT_END,
                                    &n_read, &n_written, &local_error);
      in_pos += n_read;
      out_len += n_written;

      if (result == G_CONVERTER_ERROR)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
            {
              if (out->len >= limit)
                break;   /* at the limit: the size check reports it */
              g_byte_array_set_size (out, MIN (out->len * 2, limit));
              continue;
            }
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            return fail_gzip (display, _("the compressed data ends too early"), error);
          return fail_gzip (display, local_error->message, error);
        }

      if (!have_header && out_len >= header_size_for (kind))
        {
          if (!parse_header (out->data, out_len, kind, display, header, error))
            return FALSE;
          have_header = TRUE;
          limit = header->header_size + header->payload_size + 1;
          if (out->len < limit)
            g_byte_array_set_size (out, limit);
        }
      if (out_len >= limit)
        break;

      if (result == G_CONVERTER_FINISHED)
        {
          if (in_pos == in_len)
            break;
          /* A gzip file may be several members back to back. */
          if (in_len - in_pos >= 2 && in[in_pos] == 0x1f && in[in_pos + 1] == 0x8b)
            {
              g_converter_reset (G_CONVERTER (inflater));
              continue;
            }
          return fail_gzip (display, _("there is garbage after the compressed data"), error);
        }

      if (n_read == 0 && n_written == 0)
        return fail_gzip (display, _("the compressed data ends too early"), error);
    }

  g_byte_array_set_size (out, out_len);
  return TRUE;
}

static gboolean
check_labels (const guint8 *labels, guint count, const char *display, GError **error)
{
  for (guint i = 0; i < count; i++)
    if (labels[i] >= NN_CLASSES)
      {
        g_set_error (error, NN_ERROR, NN_ERROR_IDX_LABEL_RANGE,
                     _("“%s”: label %u is %u, but labels must be 0 to 9"),
                     display, i, labels[i]);
        return FALSE;
      }
  return TRUE;
}

guint8 *
nn_idx_read (const char *path,
             NnIdxKind   kind,
             guint      *count,
             guint      *rows,
             guint      *cols,
             GError    **error)
{
  g_autofree char *display = g_filename_display_name (path);
  g_autofree guint8 *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GByteArray) inflated = NULL;
  IdxHeader header = { 0 };
  guint8 *data;
  gsize len;

  if (!g_file_get_contents (path, (char **) &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, NN_ERROR, NN_ERROR_IDX_MISSING,
                     _("There is no file “%s”"), display);
      else
        g_set_error (error, NN_ERROR, NN_ERROR_IO,
                     _("Could not read “%s”: %s"), display, local_error->message);
      return NULL;
    }

  if (len >= 2 && contents[0] == 0x1f && contents[1] == 0x8b)
    {
      inflated = g_byte_array_new ();
      if (!inflate_idx (contents, len, kind, display, inflated, &header, error))
        return NULL;
      g_clear_pointer (&contents, g_free);
      len = inflated->len;
      data = g_byte_array_steal (inflated, NULL);
    }
  else
    data = g_steal_pointer (&contents);

  if (!parse_header (data, len, kind, display, &header, error) ||
      !check_size (len, &header, display, error))
    {
      g_free (data);
      return NULL;
    }

  /* Drop the header in place rather than copying tens of megabytes. */
  memmove (data, data + header.header_size, header.payload_size);
  data = g_realloc (data, header.payload_size);

  if (kind == NN_IDX_LABELS && !check_labels (data, header.count, display, error))
    {
      g_free (data);
      return NULL;
    }

  *count = header.count;
  *rows = header.rows;
  *cols = header.cols;
  return data;
}
