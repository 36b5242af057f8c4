/* nn-checkpoint.c — (being written) */
#include "nn.h"
