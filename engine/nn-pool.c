/* nn-pool.c — (being written) */
#include "nn.h"
