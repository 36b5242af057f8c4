/* cli-image.h — turning a picture of a digit into a grayscale ink raster
 * (0 = background, 1 = ink) ready for nn_preprocess, whatever its colours. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

/* Ink of every pixel of @pixbuf, row-major, *width x *height floats (free
 * with g_free). Transparent backgrounds use the alpha channel; otherwise the
 * border's colour is taken as the paper, so dark-on-light scans and
 * light-on-dark MNIST-style images both work. Embedded EXIF orientation is
 * applied. */
float *cli_image_to_ink (GdkPixbuf *pixbuf, guint *width, guint *height);

G_END_DECLS
