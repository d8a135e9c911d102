/* dtype.h — the tensor element types of safetensors files and the float conversions
 * between them (bf16/f16 <-> f32, round-to-nearest-even), shared by checkpoints and kernels. */
#ifndef MRL_DTYPE_H
#define MRL_DTYPE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_I32, ST_U32, ST_I64, ST_U64,
    ST_F16, ST_BF16, ST_F32, ST_F64, ST_NDTYPE
} st_dtype;

/* Bytes per element. */
size_t dtype_size(st_dtype t);
/* The safetensors spelling ("F32", "BF16", ...). */
const char *dtype_name(st_dtype t);
/* Parses a safetensors spelling; -1 if unknown. */
int dtype_parse(const char *s);
/* Also accepts the spellings of config.json / the CLI ("bfloat16", "bf16", "float32", "fp32",
 * "float16", "fp16"); -1 if unknown. */
int dtype_parse_torch(const char *s);
/* config.json's torch_dtype for a float type ("bfloat16", "float32", "float16"). */
const char *dtype_torch_name(st_dtype t);
/* x in the fewest significant digits (%g, 6 and up) that read back as x: as a double, or as
 * the float32 it is when f32 ("0.7", not the 0.699999988079071 of a float widened); into b
 * (32 bytes or more), which it returns. */
const char *dtype_decimal(char *b, size_t n, double x, int f32);

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f;
}
/* Round to nearest even; NaN stays a (quiet) NaN, overflow rounds to infinity as IEEE does. */
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else {                       /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (man << 13);
    else u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f; memcpy(&f, &u, 4); return f;
}
/* Round to nearest even, with subnormals and overflow to infinity. */
static inline uint16_t f32_to_f16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  /* rounds to >= 65520: inf */
    if (a < 0x38800000u) {                                     /* below 2^-14: subnormal or 0 */
        if (a < 0x33000000u) return (uint16_t)sign;            /* < 2^-25 rounds to 0 */
        uint32_t man = (a & 0x7fffffu) | 0x800000u, shift = 126 - (a >> 23);
        uint32_t r = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = (a >> 13) - ((127 - 15) << 10), rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

/* n elements of type t at src (any alignment) to float32; -1 if t is not a float type. */
int dtype_to_f32(st_dtype t, const void *src, float *dst, size_t n);
/* n float32 to type t (F32, BF16, F16) at dst (any alignment); -1 otherwise. */
int dtype_from_f32(st_dtype t, const float *src, void *dst, size_t n);
#endif
