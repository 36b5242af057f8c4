/* nn-drawing.c — (being written) */
#include "nn.h"
