/* nn-gemm.c — (being written) */
#include "nn.h"
