/* SPDX-License-Identifier: MIT */
/*
 * Name tables of the model's enums: the strings that appear in the JSON summary, the history
 * and the report. Kept here, once, so every stage spells them the same way. Then the small
 * queries every layer asks of the model (an attempt's host, a run's own ids).
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"

const char *const fh_outcome_names[FH_OUTCOME_COUNT] = {
	[FH_PASSED] = "passed", [FH_FAILED] = "failed", [FH_ERROR] = "error",
	[FH_SKIPPED] = "skipped",
};

const char *const fh_verdict_names[FH_VERDICT_COUNT] = {
	[FH_STABLE] = "stable", [FH_FLAKY] = "flaky", [FH_BROKEN] = "broken",
	[FH_SKIPPED_ALL] = "skipped",
};

const char *const fh_category_names[FH_CAT_COUNT] = {
	[FH_CAT_NET] = "net", [FH_CAT_DNS] = "dns", [FH_CAT_SLEEP] = "sleep",
	[FH_CAT_LOCK] = "lock", [FH_CAT_PROC] = "proc",
	[FH_CAT_FILE] = "file", [FH_CAT_OTHER] = "other",
};

enum fh_category fh_wait_category(enum fh_category c, bool on_socket)
{
	if (c == FH_CAT_POLL && on_socket)
		return FH_CAT_NET;
	return (unsigned)c < FH_CAT_COUNT ? c : FH_CAT_OTHER;
}

const char *const fh_block_end_names[FH_END_COUNT] = {
	[FH_END_RETURNED] = "returned", [FH_END_TIMEOUT] = "timeout", [FH_END_SIGNAL] = "signal",
	[FH_END_ERROR] = "error", [FH_END_IN_FLIGHT] = "in_flight",
};

const char *const fh_kind_names[FH_KIND_COUNT] = {
	[FH_KIND_STABLE] = "stable", [FH_KIND_BROKEN] = "broken", [FH_KIND_CRASH] = "crash",
	[FH_KIND_RESOURCE] = "resource", [FH_KIND_STATE] = "state", [FH_KIND_TIMEOUT] = "timeout",
	[FH_KIND_NETWORK] = "network", [FH_KIND_RACE] = "race", [FH_KIND_CPU] = "cpu",
	[FH_KIND_UNEXPLAINED] = "unexplained", [FH_KIND_HANG] = "hang", [FH_KIND_ORDER] = "order",
};

const char *const fh_key_kind_names[FH_KEY_COUNT] = {
	[FH_KEY_FILE] = "file", [FH_KEY_DIR] = "dir", [FH_KEY_ENV] = "env", [FH_KEY_CWD] = "cwd",
	[FH_KEY_UMASK] = "umask", [FH_KEY_SIGNAL] = "signal", [FH_KEY_RLIMIT] = "rlimit",
	[FH_KEY_LOCALE] = "locale", [FH_KEY_TZ] = "tz", [FH_KEY_THREAD] = "thread",
	[FH_KEY_PORT] = "port", [FH_KEY_MODULE] = "module", [FH_KEY_CHILD] = "child",
};

const char *const fh_blocked_on_names[FH_ON_COUNT] = {
	[FH_ON_NONE] = NULL, [FH_ON_NET] = "net", [FH_ON_DNS] = "dns", [FH_ON_SLEEP] = "sleep",
	[FH_ON_LOCK] = "lock", [FH_ON_PROC] = "proc", [FH_ON_FILE] = "file", [FH_ON_OTHER] = "other",
};

/* Reasons the preload drops events (enum fht_drop_reason of preload/fhtrace_format.h). */
_Static_assert(FH_DROP_REASONS == FHT_DROP_NREASONS, "drop reasons");

static const char *const drop_names[FHT_DROP_NREASONS] = {
	[FHT_DROP_UNKNOWN] = "unknown", [FHT_DROP_THREAD_CAP] = "thread_cap",
	[FHT_DROP_FILE_CAP] = "file_cap", [FHT_DROP_DISK_FLOOR] = "disk_floor",
	[FHT_DROP_DISK_FULL] = "disk_full", [FHT_DROP_RLIMIT] = "rlimit_fsize",
	[FHT_DROP_NO_FD] = "no_fd", [FHT_DROP_NO_MEMORY] = "no_memory", [FHT_DROP_BUSY] = "busy",
	[FHT_DROP_IO] = "io",
};

static const char *const drop_texts[FHT_DROP_NREASONS] = {
	[FHT_DROP_UNKNOWN] = "reason not recorded",
	[FHT_DROP_THREAD_CAP] = "a thread used its FH_TRACE_MAX_BYTES",
	[FHT_DROP_FILE_CAP] = "a trace file reached its 16 GiB maximum",
	[FHT_DROP_DISK_FLOOR] = "the trace disk's free space reached the FH_TRACE_MIN_FREE floor",
	[FHT_DROP_DISK_FULL] = "the trace disk was full",
	[FHT_DROP_RLIMIT] = "the program's RLIMIT_FSIZE was too low",
	[FHT_DROP_NO_FD] = "the program's fd table was (nearly) full",
	[FHT_DROP_NO_MEMORY] = "no memory to map the trace",
	[FHT_DROP_BUSY] = "a signal arrived while its thread was growing its trace",
	[FHT_DROP_IO] = "an I/O error on the trace file",
};

const char *trace_drop_reason_name(unsigned reason)
{
	return reason < FHT_DROP_NREASONS && drop_names[reason] ? drop_names[reason] : "other";
}

bool attempt_failed(const struct fh_attempt *a)
{
	return (a->outcome == FH_FAILED || a->outcome == FH_ERROR) && !a->xfail;
}

bool attempt_passed(const struct fh_attempt *a)
{
	return a->outcome == FH_PASSED;
}

/* The cross-test view of order-dependent tests (model.h): a query over the diagnoses. */
size_t order_polluter_index(struct arena *A, const struct fh_run *run,
			    struct fh_polluter_victims **out)
{
	struct fh_polluter_victims *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t ti = 0; ti < run->ntests; ti++) {
		const struct fh_test *t = &run->tests[ti];
		const struct fh_diagnosis *d = t->diag;
		if (!d || d->kind != FH_KIND_ORDER)
			continue;
		for (size_t q = 0; q < d->npolluters; q++) {
			const struct fh_polluter *pl = &d->polluters[q];
			struct fh_polluter_victims *e = NULL;
			if (pl->confirmed == 0)
				continue;
			for (size_t k = 0; k < n; k++)
				if (!strcmp(v[k].nodeid, pl->nodeid))
					e = &v[k];
			if (!e) {
				GROW(v, cap, n + 1);
				e = &v[n++];
				memset(e, 0, sizeof(*e));
				e->nodeid = pl->nodeid;
				e->victims = arena_alloc(A, sizeof(*e->victims) * run->ntests);
				e->left = arena_alloc(A, sizeof(*e->left) * run->ntests);
			}
			e->victims[e->nvictims++] = t;
			if (pl->left) {
				bool dup = false;
				for (size_t k = 0; k < e->nleft; k++)
					dup |= !strcmp(e->left[k], pl->left);
				if (!dup)
					e->left[e->nleft++] = pl->left;
			}
		}
	}
	if (n) {
		*out = arena_alloc(A, sizeof(**out) * n);
		memcpy(*out, v, sizeof(*v) * n);
	} else {
		*out = NULL;
	}
	free(v);
	return n;
}

const char *trace_drop_reason_text(unsigned reason)
{
	return reason < FHT_DROP_NREASONS && drop_texts[reason] ? drop_texts[reason] :
		"a reason this reader does not know";
}

bool fh_outcome_parse(const char *s, enum fh_outcome *out)
{
	for (int i = 0; s && i < FH_OUTCOME_COUNT; i++) {
		if (!strcmp(s, fh_outcome_names[i])) {
			*out = (enum fh_outcome)i;
			return true;
		}
	}
	return false;
}

/* ---- queries of the model ---- */

const char *attempt_host(const struct fh_run *run, const struct fh_attempt *a)
{
	const char *h;

	if (a->source < 0 || (size_t)a->source >= run->nsources)
		return "";
	h = run->sources[a->source].meta.host;
	return h ? h : "";
}

bool run_is_own_id(const struct fh_run *run, const char *run_id)
{
	if (!run_id)
		return false;
	if (run->meta.run_id && !strcmp(run->meta.run_id, run_id))
		return true;
	for (size_t i = 0; run->merged && i < run->nsources; i++)
		if (run->sources[i].meta.run_id && !strcmp(run->sources[i].meta.run_id, run_id))
			return true;
	return false;
}
