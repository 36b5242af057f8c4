/* nn-safetensors.h — reading and writing safetensors files (private).
 *
 * The generic container under model files and training checkpoints: an
 * 8-byte little-endian header length, a JSON header, then raw little-endian
 * F32 tensors. Only F32 is accepted; everything is validated on parse. */
#pragma once

#include "nn.h"

typedef struct {
  const char  *name;
  guint        ndim;            /* 0..4 */
  guint64      shape[4];
  const float *data;            /* product(shape) floats */
} NnStTensorRef;

/* Serialises @tensors (in the given order, offsets ascending) and the string
 * pairs in @metadata (may be NULL) into one buffer. */
GBytes  *nn_safetensors_serialize (const NnStTensorRef *tensors, guint n_tensors,
                                   GHashTable *metadata);
/* The same, written atomically (temporary file beside @path, then rename). */
gboolean nn_safetensors_write     (const char *path,
                                   const NnStTensorRef *tensors, guint n_tensors,
                                   GHashTable *metadata, GError **error);

typedef struct _NnSafetensors NnSafetensors;

/* Validates header length bounds, JSON syntax, dtypes, shapes against
 * byte sizes, offsets inside the data area and non-overlapping, and
 * finiteness of every value. Keeps a reference to @bytes. */
NnSafetensors *nn_safetensors_parse   (GBytes *bytes, GError **error);
NnSafetensors *nn_safetensors_read    (const char *path, GError **error);
void           nn_safetensors_free    (NnSafetensors *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnSafetensors, nn_safetensors_free)

/* NULL when absent. */
const char    *nn_safetensors_get_metadata (NnSafetensors *st, const char *key);
/* NULL-terminated, sorted; g_strfreev. */
char         **nn_safetensors_list_metadata (NnSafetensors *st);
/* NULL-terminated, in file order; g_strfreev. */
char         **nn_safetensors_list_tensors (NnSafetensors *st);
/* FALSE if there is no tensor @name. */
gboolean       nn_safetensors_get_shape  (NnSafetensors *st, const char *name,
                                          guint *ndim, guint64 shape[4]);
/* Copies the tensor into @dest, which holds @n_elements floats; fails
 * (NN_ERROR_MODEL_SHAPE) when the sizes differ. */
gboolean       nn_safetensors_copy_tensor (NnSafetensors *st, const char *name,
                                           float *dest, gsize n_elements,
                                           GError **error);
