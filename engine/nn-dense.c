/* nn-dense.c — (being written) */
#include "nn.h"
