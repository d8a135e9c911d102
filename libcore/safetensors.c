/* safetensors.c — the safetensors reader (mmap + validation), the streaming atomic writer,
 * the Qwen2 tensor layout and the dtype table. (Skeleton: being filled in.) */
#include "safetensors.h"

static const struct { const char *name; size_t size; } dtypes[ST_NDTYPE] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1}, [ST_I8] = {"I8", 1}, [ST_I16] = {"I16", 2},
    [ST_U16] = {"U16", 2}, [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4}, [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F32] = {"F32", 4},
    [ST_F64] = {"F64", 8},
};
size_t dtype_size(st_dtype t) { return (unsigned)t < ST_NDTYPE ? dtypes[t].size : 0; }
const char *dtype_name(st_dtype t) { return (unsigned)t < ST_NDTYPE ? dtypes[t].name : "?"; }
int dtype_parse(const char *s) {
    for (int i = 0; i < ST_NDTYPE; i++) if (!strcmp(s, dtypes[i].name)) return i;
    return -1;
}
st_file *st_open(const char *path, mrl_err *e) { (void)path; err_set(e, 3, "st_open: not implemented"); return 0; }
void st_close(st_file *f) { (void)f; }
