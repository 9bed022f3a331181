#ifndef LIFEBOAT_CZLIB_SHIM_H
#define LIFEBOAT_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 is a macro; this wrapper makes it callable from Swift.
   windowBits 15 + 16 asks zlib for a gzip (RFC 1952) wrapper. */
static inline int lifeboat_deflate_init_gzip(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int lifeboat_inflate_init_gzip(z_streamp strm) {
    return inflateInit2(strm, 15 + 16);
}
#endif
