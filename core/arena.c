/* SPDX-License-Identifier: MIT */
/*
 * struct arena: the bump allocator that owns the model (arena.h).
 */
#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* ---- arena ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char mem[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = n > 65536 ? n : 65536;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		/* Large one-off blocks go behind the current chunk so it keeps filling. */
		if (a->head && n > 65536) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += size;
	}
	p = c->mem + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	if ((size_t)n < sizeof(small))
		return arena_strndup(a, small, (size_t)n);
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}

void arena_adopt(struct arena *dst, struct arena *src)
{
	struct arena_chunk *tail = src->head;

	if (!tail)
		return;
	while (tail->next)
		tail = tail->next;
	/* Behind dst's current chunk, which keeps filling. */
	if (dst->head) {
		tail->next = dst->head->next;
		dst->head->next = src->head;
	} else {
		dst->head = src->head;
	}
	dst->total += src->total;
	src->head = NULL;
	src->total = 0;
}

const char *arena_strdup_capped(struct arena *a, const char *s, size_t max)
{
	size_t n;

	if (!s)
		return NULL;
	n = strnlen(s, max + 1);
	if (n > max)
		n = utf8_floor(s, max);
	return arena_strndup(a, s, n);
}
