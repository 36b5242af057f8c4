/* nn-train.c — (being written) */
#include "nn.h"
