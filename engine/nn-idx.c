/* nn-idx.c — (being written) */
#include "nn.h"
