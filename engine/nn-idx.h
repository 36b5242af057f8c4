/* nn-idx.h — reading one IDX file of the MNIST family (private).
 *
 * nn-dataset.c pairs an image file with its label file; this layer reads and
 * checks one file at a time. */
#pragma once

#include "nn.h"

typedef enum {
  NN_IDX_IMAGES,   /* magic 2051: u32 count, rows, cols, then bytes */
  NN_IDX_LABELS,   /* magic 2049: u32 count, then one byte per item */
} NnIdxKind;

/* Reads @path (gzip detected from its first bytes), checks the magic number
 * for @kind, the dimensions (28x28, count > 0), the size against the header
 * and, for labels, the range 0..9. Returns the items without the header
 * (count * rows * cols bytes for images, count bytes for labels; rows and
 * cols are 1 for labels); g_free it. */
guint8 *nn_idx_read (const char *path,
                     NnIdxKind   kind,
                     guint      *count,
                     guint      *rows,
                     guint      *cols,
                     GError    **error);
