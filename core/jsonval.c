/* SPDX-License-Identifier: MIT */
/*
 * Values of hostile JSON (jsonval.h): a value of the wrong type reads as the default.
 */
#include "jsonval.h"

#include <limits.h>
#include <string.h>

/* ---- small cJSON accessors that never trust types ----
 * v*() read a value (NULL or the wrong type gives the default); json_get() finds a member.
 * A struct jcur looks members up starting after the previous hit, wrapping around: records
 * list their keys in the order this file asks for them, so most lookups take one compare. */

const cJSON *json_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int key_is(const cJSON *c, const char *key)
{
	return c->string && c->string[0] == key[0] && !strcmp(c->string, key);
}

const cJSON *json_cursor_get(struct jcur *cur, const char *key)
{
	const cJSON *start = cur->last && cur->last->next ? cur->last->next : cur->obj->child;
	const cJSON *c;

	for (c = start; c; c = c->next)
		if (key_is(c, key))
			return cur->last = c;
	for (c = cur->obj->child; c && c != start; c = c->next)
		if (key_is(c, key))
			return cur->last = c;
	return NULL;
}

const char *json_str(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

double json_num(const cJSON *v, double dflt)
{
	double d;

	if (!cJSON_IsNumber(v))
		return dflt;
	d = v->valuedouble;
	return d == d ? d : dflt;
}

static int clamp_int(double d, int dflt)
{
	if (!(d == d))
		return dflt;
	if (d > INT_MAX)
		return INT_MAX;
	if (d < INT_MIN)
		return INT_MIN;
	return (int)d;
}

int json_int(const cJSON *v, int dflt)
{
	return cJSON_IsNumber(v) ? clamp_int(v->valuedouble, dflt) : dflt;
}

int64_t json_i64(const cJSON *v)
{
	double d = json_num(v, 0);

	if (d >= 9.2e18 || d <= -9.2e18)
		return 0;
	return (int64_t)d;
}

double json_dur(const cJSON *v)
{
	double d = json_num(v, 0);

	return d >= 0 && d < 1e9 ? d : 0;
}

bool json_bool(const cJSON *v, bool dflt)
{
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}
