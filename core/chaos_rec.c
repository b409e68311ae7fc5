/* SPDX-License-Identifier: MIT */
/* The attempt record's "chaos" object (core/chaos_rec.h). */
#include <string.h>

#include "chaos_rec.h"

static const char *jstr_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A copy of s cut to max bytes (hostile records: bounded). */
static const char *cut(struct arena *A, const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (n <= max)
		return arena_strdup(A, s);
	char *d = arena_alloc(A, max + 1);
	memcpy(d, s, max);
	return d;
}

struct fh_attempt_chaos *chaos_from_record(struct arena *A, const cJSON *v)
{
	if (!cJSON_IsObject(v))
		return NULL;
	struct fh_attempt_chaos *c = arena_alloc(A, sizeof(*c));
	c->perturbed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "perturbed"));
	c->mode = cut(A, jstr_of(v, "mode"), 32);
	c->seed = cut(A, jstr_of(v, "seed"), 32);
	c->plan = c->perturbed ? cut(A, jstr_of(v, "plan"), 1024) : NULL;
	c->guide = cut(A, jstr_of(v, "guide"), 512);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "injected");
	if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 1e9)
		c->injected = (int)n->valuedouble;
	n = cJSON_GetObjectItemCaseSensitive(v, "injected_s");
	if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 1e9)
		c->injected_s = n->valuedouble;
	return c;
}

void chaos_rate_note(struct buf *b, const struct fh_test *t)
{
	const struct fh_test_chaos *c = t->chaos;

	if (!c || !c->pert_attempts)
		return;
	buf_printf(b, "; under chaos %d/%d failed (%.0f%%)", c->pert_failed, c->pert_attempts,
		   100 * c->pert_rate);
}
