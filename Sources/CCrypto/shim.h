#ifndef LIFEBOAT_CCRYPTO_SHIM_H
#define LIFEBOAT_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#endif
