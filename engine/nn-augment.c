/* nn-augment.c — (being written) */
#include "nn.h"
