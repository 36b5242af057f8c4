/* nn-preprocess.c — (being written) */
#include "nn.h"
