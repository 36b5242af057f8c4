/* nn-threads.c — (being written) */
#include "nn.h"
