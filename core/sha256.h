/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), small and dependency-free, the analyzer's only one: the names of the AI
 * cache's files (RUN_DIR/ai-cache/<sha256 of model and prompt>.json), a merge source's content
 * hash, and the hash of the report's script in its Content-Security-Policy. Used where a
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
/* sha256_final() as lower-case hex (65 bytes, NUL-terminated). */
void sha256_final_hex(struct sha256 *s, char hex[65]);
/* Lower-case hex of the digest of data into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t n, char hex[65]);
/* Base64 of the digest of data (44 characters + NUL): the report's Content-Security-Policy
 * names its one inline script by it. */
void sha256_b64(const void *data, size_t n, char out[45]);

#endif
