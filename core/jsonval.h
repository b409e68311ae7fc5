/* SPDX-License-Identifier: MIT */
/*
 * Reading values of hostile JSON (cJSON trees of meta.json, attempt records, quarantine
 * files, API responses): json_str(), json_num()... read a value, giving the default for NULL
 * or a value of another type; json_get() finds a member. A struct jcur looks members up
 * starting after the previous hit, wrapping around: records list their keys in the order their
 * reader asks for them, so most lookups take one compare.
 */
#ifndef FH_JSONVAL_H
#define FH_JSONVAL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct jcur {
	const cJSON *obj, *last;
};

/* Member key of object o (case-sensitive); NULL when o is not an object or lacks it. */
const cJSON *json_get(const cJSON *o, const char *key);
/* Member key of cur->obj, searched from after the previous hit. */
const cJSON *json_cursor_get(struct jcur *cur, const char *key);
/* A string value; NULL otherwise (borrowed from the tree). */
const char *json_str(const cJSON *v);
/* A number (not NaN); dflt otherwise. */
double json_num(const cJSON *v, double dflt);
/* A number clamped to int (NaN gives dflt); dflt otherwise. */
int json_int(const cJSON *v, int dflt);
/* A number within int64_t; 0 otherwise. */
int64_t json_i64(const cJSON *v);
/* A duration in seconds, [0, 1e9); 0 otherwise. */
double json_dur(const cJSON *v);
/* true or false; dflt otherwise. */
bool json_bool(const cJSON *v, bool dflt);

/* The same for member k of object o. */
#define json_get_str(o, k) json_str(json_get((o), (k)))
#define json_get_int(o, k, d) json_int(json_get((o), (k)), (d))
#define json_get_i64(o, k) json_i64(json_get((o), (k)))
#define json_get_bool(o, k, d) json_bool(json_get((o), (k)), (d))
#define json_get_dur(o, k) json_dur(json_get((o), (k)))

#endif
