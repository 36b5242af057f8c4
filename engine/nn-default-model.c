/* nn-default-model.c — (being written) */
#include "nn.h"
