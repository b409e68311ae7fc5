/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), small and dependency-free. Used to name cache files by the hash of what
 * was asked (analyzer/ai.c: RUN_DIR/ai-cache/<sha256 of model and prompt>.json), where a
 * collision-resistant name matters more than speed.
 */
#ifndef FH_SHA256_H
#define FH_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char block[64];
	size_t fill;           /* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);
/* Lower-case hex of the digest of data into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
