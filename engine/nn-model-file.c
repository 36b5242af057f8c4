/* nn-model-file.c — (being written) */
#include "nn.h"
