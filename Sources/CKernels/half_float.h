// IEEE half to Float32 in portable C, shared by the kernel bodies and the panel products.
// Private to CKernels.
#ifndef TAILOR_HALF_FLOAT_H
#define TAILOR_HALF_FLOAT_H
#include <stdint.h>
#include <string.h>

// The IEEE half at p (little-endian), exactly.
static inline float tk_half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) bits = sign | 0x7F800000u | (mantissa << 13);
    else if (exponent != 0) bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    else {
        float v = (float)mantissa * 5.9604644775390625e-8f;  // 2^-24
        return sign ? -v : v;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif
