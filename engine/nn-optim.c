/* nn-optim.c — (being written) */
#include "nn.h"
