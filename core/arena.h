/* SPDX-License-Identifier: MIT */
/*
 * struct arena: the allocator of the in-memory model (model.h): every string and array of a
 * run is allocated from it and freed at once.
 */
#ifndef FH_ARENA_H
#define FH_ARENA_H

#include <stddef.h>

#include "util.h"

/*
 * struct arena: bump allocator for the model. Everything allocated from it is freed at once by
 * arena_free(). Allocations are 16-byte aligned.
 */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total;
};
void *arena_alloc(struct arena *a, size_t n);  /* zeroed */
char *arena_strdup(struct arena *a, const char *s); /* NULL in, NULL out */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* A copy of s capped at max bytes, cut on a UTF-8 boundary; NULL in, NULL out. */
const char *arena_strdup_capped(struct arena *a, const char *s, size_t max);
char *arena_printf(struct arena *a, const char *fmt, ...) FH_PRINTF(2, 3);
void arena_free(struct arena *a);
/* Moves every allocation of src into dst (src is left empty): used to merge work done on
 * another thread into the model's arena. */
void arena_adopt(struct arena *dst, struct arena *src);

#endif
