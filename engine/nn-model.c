/* nn-model.c — (being written) */
#include "nn.h"
