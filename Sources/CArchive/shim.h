#ifndef LIFEBOAT_CARCHIVE_SHIM_H
#define LIFEBOAT_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* File-type constants are cast macros Swift cannot import (AE_IFREG …). */
static inline unsigned int lifeboat_ae_ifreg(void) { return AE_IFREG; }
static inline unsigned int lifeboat_ae_ifdir(void) { return AE_IFDIR; }
static inline unsigned int lifeboat_ae_iflnk(void) { return AE_IFLNK; }
#endif
