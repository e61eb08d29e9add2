// The kernels built for the baseline target (any CPU).
#define KFN(name) name##_portable
#include "kernels_body.h"
