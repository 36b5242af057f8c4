/* nn-loss.c — (being written) */
#include "nn.h"
