/* SPDX-License-Identifier: MIT */
/*
 * Reads RUN_DIR/quarantine.json (written by the plugin) into the model, and prints quarantine
 * suggestions as TOML for `fh-analyze quarantine suggest` (quarantine.h).
 */
#include "quarantine.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chaos_rec.h"
#include "escape.h"
#include "files.h"
#include "jsonval.h"

#define QUARANTINE_MAX_FILE (64u << 20)
#define QUARANTINE_MAX_ENTRIES 100000
#define QSTR_MAX 1024

/* A string member, capped at QSTR_MAX bytes; NULL when missing or not a string. */
static const char *qstr(struct arena *a, const cJSON *o, const char *key)
{
	return arena_strdup_capped(a, json_get_str(o, key), QSTR_MAX);
}

/* A count member: a number in [0, 1e9), else 0. */
static int qint(const cJSON *o, const char *key)
{
	double d = json_num(json_get(o, key), 0);

	return d >= 0 && d < 1e9 ? (int)d : 0;
}

static int cmp_test_nodeid(const void *a, const void *b)
{
	const struct fh_test *x = *(const struct fh_test *const *)a;
	const struct fh_test *y = *(const struct fh_test *const *)b;

	return strcmp(x->nodeid, y->nodeid);
}

/* A well-formed "YYYY-MM-DD" (the plugin writes ISO dates; anything else is not trusted). */
static int is_date(const char *s)
{
	int i;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	return s[10] == '\0';
}

static int load_entries(struct fh_run *run, const cJSON *arr, const char *path)
{
	const cJSON *it;
	size_t n = 0, i = 0;

	n = (size_t)cJSON_GetArraySize(arr);
	if (n > QUARANTINE_MAX_ENTRIES) {
		warning("%s: more than %d entries; quarantine marks not shown", path,
			QUARANTINE_MAX_ENTRIES);
		return -EFBIG;
	}
	run->quarantine = arena_alloc(&run->arena, (n ? n : 1) * sizeof(*run->quarantine));
	cJSON_ArrayForEach(it, arr) {
		struct fh_quarantine *q = &run->quarantine[i++];

		if (!cJSON_IsObject(it))
			continue;
		q->pattern = qstr(&run->arena, it, "pattern");
		q->owner = qstr(&run->arena, it, "owner");
		q->reason = qstr(&run->arena, it, "reason");
		q->expires = qstr(&run->arena, it, "expires");
		q->line = qint(it, "line");
		q->matched = qint(it, "matched");
		q->expired = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "expired"));
		if (!q->reason)
			q->reason = "";
		if (!q->expires || !is_date(q->expires))
			q->expires = "unknown";
	}
	run->nquarantine = n;
	return 0;
}

int quarantine_load(struct fh_run *run)
{
	struct buf path = BUF_INIT(PATH_MAX);
	struct fh_test **byid = NULL;
	const cJSON *tests, *it;
	cJSON *root = NULL;
	char *data = NULL;
	size_t len, i;
	int r, ret = 0, bad = 0;

	buf_printf(&path, "%s/quarantine.json", run->run_dir);
	r = read_file(buf_str(&path), QUARANTINE_MAX_FILE, &data, &len);
	if (r == -ENOENT)
		goto out;
	if (r) {
		ret = r;
		warning("%s: cannot read: %s; quarantine marks not shown", buf_str(&path),
			fh_strerror(r));
		goto out;
	}
	root = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(root) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "entries"))) {
		ret = -EINVAL;
		warning("%s:1: not a quarantine file (an object with \"entries\"); quarantine "
			"marks not shown", buf_str(&path));
		goto out;
	}
	ret = load_entries(run, cJSON_GetObjectItemCaseSensitive(root, "entries"), buf_str(&path));
	if (ret < 0)
		goto out;
	run->quarantine_file = qstr(&run->arena, root, "file");
	if (!run->quarantine_file)
		run->quarantine_file = "";
	tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
	if (!cJSON_IsObject(tests) || !run->ntests)
		goto out;
	byid = xmalloc(run->ntests * sizeof(*byid));
	for (i = 0; i < run->ntests; i++)
		byid[i] = &run->tests[i];
	qsort(byid, run->ntests, sizeof(*byid), cmp_test_nodeid);
	cJSON_ArrayForEach(it, tests) {
		struct fh_test key, *kp = &key, **hit;
		const struct fh_quarantine *q;
		double d = cJSON_IsNumber(it) ? it->valuedouble : -1;

		if (!it->string || !(d >= 0 && d < (double)run->nquarantine) || d != floor(d)) {
			bad++;
			continue;
		}
		q = &run->quarantine[(size_t)d];
		if (!q->pattern || !q->owner) {
			bad++;
			continue;
		}
		key.nodeid = it->string;
		hit = bsearch(&kp, byid, run->ntests, sizeof(*byid), cmp_test_nodeid);
		if (hit)
			(*hit)->quarantine = q;
	}
	if (bad)
		warning("%s: %d test marks with a bad entry index or an entry without a pattern or "
			"owner skipped", buf_str(&path), bad);
out:
	cJSON_Delete(root);
	free(data);
	free(byid);
	buf_free(&path);
	return ret;
}

bool quarantine_active(const struct fh_test *t)
{
	return t->quarantine && !t->quarantine->expired;
}

static int cmp_rate(const void *a, const void *b)
{
	const struct fh_test *x = *(const struct fh_test *const *)a;
	const struct fh_test *y = *(const struct fh_test *const *)b;

	if (x->flake_rate != y->flake_rate)
		return x->flake_rate > y->flake_rate ? -1 : 1;
	return strcmp(x->nodeid, y->nodeid);
}

int quarantine_suggest(const struct fh_run *run, const struct quarantine_suggest_opts *o,
		       FILE *out)
{
	struct buf b = BUF_INIT((size_t)1 << 30);
	const struct fh_test **pick;
	size_t i, n = 0, already = 0;
	time_t when = o->today ? (time_t)o->today : time(NULL);
	char date[16] = "";
	struct tm tm;

	when += (time_t)o->days * 86400;
	if (localtime_r(&when, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	pick = xmalloc((run->ntests ? run->ntests : 1) * sizeof(*pick));
	for (i = 0; i < run->ntests; i++) {
		const struct fh_test *t = &run->tests[i];

		if (t->verdict != FH_FLAKY || t->flake_rate < o->min_rate)
			continue;
		if (quarantine_active(t)) {
			already++;
			continue;
		}
		pick[n++] = t;
	}
	qsort(pick, n, sizeof(*pick), cmp_rate);
	buf_puts(&b, "# flakehunter: quarantine suggestions from run ");
	buf_puts(&b, run->meta.run_id);
	buf_printf(&b, ": %zu flaky tests with a flake rate of at least %.0f%%", n,
		   100 * o->min_rate);
	if (already)
		buf_printf(&b, " (%zu more already quarantined)", already);
	buf_puts(&b, ".\n# Add them to the file given to --fh-quarantine; set the owner and "
		 "check the expiry.\n");
	for (i = 0; i < n; i++) {
		const struct fh_test *t = pick[i];
		struct buf reason = BUF_INIT(4096);

		buf_printf(&reason, "flaky: %d/%d attempts failed (%.0f%%, 95%% CI %.0f-%.0f%%) in "
			   "run %s", t->rate_failed, t->rate_n, 100 * t->flake_rate,
			   100 * t->ci_lo, 100 * t->ci_hi, run->meta.run_id);
		chaos_rate_note(&reason, t);
		if (t->diag && (unsigned)t->diag->kind < FH_KIND_COUNT) {
			const char *on = (unsigned)t->diag->blocked_on < FH_ON_COUNT ?
					 fh_blocked_on_names[t->diag->blocked_on] : NULL;

			buf_printf(&reason, "; diagnosis: %s", fh_kind_names[t->diag->kind]);
			if (on)
				buf_printf(&reason, " (%s)", on);
		}
		buf_puts(&b, "\n[[quarantine]]\nnodeid = ");
		buf_toml_str(&b, t->nodeid);
		buf_puts(&b, "\nowner = ");
		buf_toml_str(&b, o->owner);
		buf_puts(&b, "\nreason = ");
		buf_toml_str(&b, buf_str(&reason));
		buf_puts(&b, "\nexpires = ");
		buf_puts(&b, date);
		buf_putc(&b, '\n');
		buf_free(&reason);
	}
	fwrite(buf_str(&b), 1, buf_len(&b), out);
	buf_free(&b);
	free(pick);
	return (int)n;
}
