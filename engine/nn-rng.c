/* nn-rng.c — (being written) */
#include "nn.h"
