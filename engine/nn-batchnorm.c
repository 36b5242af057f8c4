/* nn-batchnorm.c — (being written) */
#include "nn.h"
