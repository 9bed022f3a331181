#ifndef LIFEBOAT_CZSTD_SHIM_H
#define LIFEBOAT_CZSTD_SHIM_H
/* libzstd's one-shot API, for format-2 blobs: one frame per chunk with reused contexts
   (libarchive's zstd filter, which format 1 streams through, would set up a stream per chunk). */
#include <zstd.h>
#include <zstd_errors.h>
#endif
