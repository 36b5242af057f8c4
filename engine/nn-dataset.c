/* nn-dataset.c — (being written) */
#include "nn.h"
