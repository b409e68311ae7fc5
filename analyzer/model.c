/* SPDX-License-Identifier: MIT */
/*
 * Name tables of the model's enums: the strings that appear in the JSON summary, the history
 * and the report. Kept here, once, so every stage spells them the same way.
 */
#include "model.h"

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
	[FH_CAT_LOCK] = "lock", [FH_CAT_POLL] = "poll", [FH_CAT_PROC] = "proc",
	[FH_CAT_FILE] = "file", [FH_CAT_OTHER] = "other",
};

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

const char *const fh_blocked_on_names[FH_ON_COUNT] = {
	[FH_ON_NONE] = NULL, [FH_ON_NET] = "net", [FH_ON_DNS] = "dns", [FH_ON_SLEEP] = "sleep",
	[FH_ON_LOCK] = "lock", [FH_ON_PROC] = "proc", [FH_ON_FILE] = "file", [FH_ON_OTHER] = "other",
};
