#ifndef LIFEBOAT_CCRYPTO_SHIM_H
#define LIFEBOAT_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#endif
