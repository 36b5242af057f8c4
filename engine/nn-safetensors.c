/* nn-safetensors.c — (being written) */
#include "nn.h"
