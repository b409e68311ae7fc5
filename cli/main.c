/* SPDX-License-Identifier: MIT */
/*
 * fh-analyze: the command-line entry point (docs/FORMATS.md). Subcommands:
 *   report RUN_DIR   analyse a run directory, write the JSON summary and the HTML report
 *                    (and on request the JUnit XML, the Markdown summary, CI annotations)
 *   quarantine suggest RUN_DIR   print quarantine file entries for the flaky tests of a run
 *   candidates RUN_DIR   write RUN_DIR/candidates.json: suspected polluters to replay
 *   dump FILE...     print trace files one event per line
 * `report` runs the pipeline of model.h in order and prints the terminal summary on stdout.
 * Exit status: 0 written; 1 could not read the run or write the report or JSON; 2 usage.
 * Only this file exits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_stage.h"
#include "dump.h"
#include "escape.h"
#include "files.h"
#include "hang.h"
#include "history_seed.h"
#include "junit.h"
#include "markdown.h"
#include "perf_cause.h"
#include "merge.h"
#include "model.h"
#include "order.h"
#include "quarantine.h"
#include "redact.h"
#include "report.h"
#include "rundir.h"
#include "sources.h"
#include "stages.h"

#define TERMINAL_MAX_LISTED 30

static const char usage_text[] =
"usage: fh-analyze report RUN_DIR [--out HTML] [--json JSON] [--history-dir DIR]\n"
"                         [--no-history] [--ai] [--ai-model MODEL] [--ai-dotenv] [--quiet]\n"
"                         [--junit XML] [--markdown MD] [--step-summary MD]\n"
"                         [--annotations github] [--annotations-prefix DIR]\n"
"                         [--report-link URL] [--lost-records N]\n"
"       fh-analyze quarantine suggest RUN_DIR [--min-rate R] [--owner NAME] [--days N]\n"
"       fh-analyze merge RUN_DIR... --out RUN_DIR [--strict] [--quiet]\n"
"       fh-analyze history import DIR [--quiet]\n"
"       fh-analyze candidates RUN_DIR [--quiet]\n"
"       fh-analyze dump FILE...\n"
"       fh-analyze --help | --version\n";

static const char help_text[] =
"\n"
"Analyses the attempts recorded by `pytest --fh` (pytest-flakehunter) and renders them.\n"
"\n"
"Commands:\n"
"  report RUN_DIR        Read RUN_DIR (meta.json, attempts-*.jsonl, trace/), compute flake\n"
"                        rates with 95% Wilson intervals and verdicts, cluster failures,\n"
"                        join traces, diagnose, append to the history, and write the HTML\n"
"                        report and the JSON summary. Prints the flaky tests, worst first.\n"
"  quarantine suggest RUN_DIR\n"
"                        Print [[quarantine]] TOML entries (for --fh-quarantine) for the\n"
"                        flaky tests of RUN_DIR, worst first, skipping tests the run had\n"
"                        quarantined already.\n"
"  merge RUN_DIR... --out RUN_DIR\n"
"                        Merge the run directories of several sessions (CI shards,\n"
"                        machines, merged directories too) into one merged run directory;\n"
"                        `report` on it gives one report with per-host counts. Idempotent\n"
"                        and order-independent; --out may be an existing merged directory.\n"
"                        A source that cannot be merged gets one error line and is skipped\n"
"                        (--strict: nothing is written then).\n"
"  history import DIR    Convert pytest-flakehunter 1.0.1 history files in DIR (its per-test\n"
"                        CSVs) into this tool's history files in DIR, keeping the originals.\n"
"                        Run ids already present are not imported again.\n"
"  candidates RUN_DIR    Write RUN_DIR/candidates.json: for each order-dependent test of a\n"
"                        --fh-order=rounds run, the tests whose footprint explains it (or\n"
"                        the tests to bisect); the plugin replays them (--fh-confirm).\n"
"  dump FILE...          Print trace files (.fht) as text, one event per line.\n"
"\n"
"Options of report:\n"
"  --out HTML            HTML report path (default: flakehunter_report.html)\n"
"  --json JSON           JSON summary path (default: the HTML path with .json)\n"
"  --history-dir DIR     per-test CSV history (default: .flakehunter/history)\n"
"  --no-history          neither read nor append the history\n"
"  --ai                  ask an LLM (Anthropic Messages API, ANTHROPIC_API_KEY) for a root\n"
"                        cause hypothesis per flaky or broken test\n"
"  --ai-model MODEL      model for --ai (default: a current Claude Sonnet)\n"
"  --ai-dotenv           also read ANTHROPIC_API_KEY from ./.env\n"
"  --quiet               no warnings on stderr (errors are still printed)\n"
"  --junit XML           also write a JUnit XML report (Surefire schema: every failing\n"
"                        attempt as flakyFailure/rerunFailure)\n"
"  --markdown MD         also write a Markdown summary (flaky and broken tests)\n"
"  --step-summary MD     append the Markdown summary to MD ($GITHUB_STEP_SUMMARY)\n"
"  --annotations github  print one GitHub Actions ::warning/::error per flaky/broken test\n"
"  --annotations-prefix DIR  put DIR/ before the annotations' relative paths\n"
"  --report-link URL     link the report as URL in the Markdown (e.g. the CI run)\n"
"  --lost-records N      N records could not be written during the run (the plugin says\n"
"                        so; default: RUN_DIR/lost.json's count, else 0)\n"
"\n"
"Options of quarantine suggest:\n"
"  --min-rate R          only tests with a flake rate of at least R (0.2 or 20%; default 0)\n"
"  --owner NAME          owner written into each entry (default: unassigned)\n"
"  --days N              expiry N days from today (default 30)\n"
"\n"
"Other options:\n"
"  -h, --help            this help\n"
"  --version             print the version\n"
"\n"
"Environment:\n"
"  FH_TIMING=1           print the time each stage of report took on stderr\n"
"  FH_THREADS=N          threads for parsing big record files (default: CPUs online)\n"
"\n"
"Exit status: 0 written; 1 could not read the run or write the report or JSON (merge,\n"
"import: nothing could be written); 2 usage.\n";

struct report_opts {
	const char *run_dir, *out, *json, *history_dir;
	const char *junit, *markdown, *step_summary, *annotations, *annotations_prefix;
	const char *report_link;
	const char *lost_records;    /* NULL: RUN_DIR/lost.json's count */
	long long lost_n;
	bool no_history, ai, quiet;
	struct fh_ai_options ai_opt;
};

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "fh-analyze: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	fputs(usage_text, stderr);
	return 2;
}

/* Matches "--name VALUE" or "--name=VALUE": 1, advancing *i past a separate value; 0 for
 * another option; -EINVAL when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -EINVAL;
	*val = argv[++*i];
	return 1;
}

static int parse_report(int argc, char **argv, struct report_opts *o)
{
	static const char *const names[] = { "--out", "--json", "--history-dir", "--ai-model",
		"--junit", "--markdown", "--step-summary", "--annotations", "--annotations-prefix",
		"--report-link", "--lost-records" };
	const char **slots[] = { &o->out, &o->json, &o->history_dir, &o->ai_opt.model,
		&o->junit, &o->markdown, &o->step_summary, &o->annotations,
		&o->annotations_prefix, &o->report_link, &o->lost_records };
	int i, k, r;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(0);
		}
		for (k = 0; k < (int)ARRAY_SIZE(names); k++) {
			r = opt_value(argc, argv, &i, names[k], slots[k]);
			if (r < 0)
				return usage_error("option needs a value", a);
			if (r)
				break;
		}
		if (k < (int)ARRAY_SIZE(names))
			continue;
		if (!strcmp(a, "--no-history"))
			o->no_history = true;
		else if (!strcmp(a, "--ai"))
			o->ai = true;
		else if (!strcmp(a, "--ai-dotenv"))
			o->ai_opt.use_dotenv = true;
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			o->quiet = true;
		else if (a[0] == '-' && a[1])
			return usage_error("unknown option", a);
		else if (o->run_dir)
			return usage_error("more than one RUN_DIR", a);
		else
			o->run_dir = a;
	}
	if (!o->run_dir)
		return usage_error("report needs RUN_DIR", NULL);
	if (o->annotations && strcmp(o->annotations, "github"))
		return usage_error("--annotations: only 'github' is known", o->annotations);
	if (o->lost_records) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(o->lost_records, &end, 10);
		if (end == o->lost_records || *end || errno || v < 0 || v > 1000000000000LL)
			return usage_error("--lost-records: a count of records", o->lost_records);
		o->lost_n = v;
	}
	return 0;
}

static char *json_beside(const char *html)
{
	size_t n = strlen(html);
	struct buf b = BUF_INIT(n + 16);

	if (n > 5 && !strcmp(html + n - 5, ".html"))
		n -= 5;
	else if (n > 4 && !strcmp(html + n - 4, ".htm"))
		n -= 4;
	buf_add(&b, html, n);
	buf_puts(&b, ".json");
	return buf_detach(&b);
}

/* Prints s with control characters escaped, so a hostile nodeid cannot forge terminal lines;
 * bytes that are not UTF-8 and bidi controls as in the report (the text policy). */
static void print_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n') {
			fputs("\\n", stdout);
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\x%02x", c);
		} else if (c >= 0x80) {
			uint32_t cp;
			size_t k = utf8_next((const unsigned char *)s, 4, &cp); /* stops at the NUL */

			if (k == 1)
				printf("\\x%02X", c);
			else if (utf8_is_bidi_control(cp))
				printf("\\u%04X", (unsigned)cp);
			else
				fwrite(s, 1, k, stdout);
			s += k - 1;
		} else {
			putchar(c);
		}
	}
}

static void terminal_summary(const struct fh_run *run, const char *html, const char *json,
			     bool html_ok, bool json_ok)
{
	size_t i, listed = 0, bad = (size_t)run->nflaky + (size_t)run->nbroken;

	printf("flakehunter: %zu tests x %d runs: %d flaky, %d broken, %d stable, %d skipped\n",
	       run->ntests, run->meta.runs_per_test, run->nflaky, run->nbroken, run->nstable,
	       run->nskipped);
	/* Hung tests first, each with what it hung on (the deadlock sentence when there is one). */
	for (i = 0; i < run->ntests && listed < TERMINAL_MAX_LISTED; i++) {
		const struct fh_test *t = &run->tests[i];

		if (!t->diag || t->diag->kind != FH_KIND_HANG)
			continue;
		fputs("  hung   ", stdout);
		print_safe(t->nodeid);
		fputs(": ", stdout);
		print_safe(t->diag->deadlock && t->diag->nevidence ? t->diag->evidence[0] :
			   t->diag->summary);
		putchar('\n');
		listed++;
	}
	for (i = 0; i < run->ntests && listed < TERMINAL_MAX_LISTED; i++) {
		const struct fh_test *t = &run->tests[i];

		if (t->verdict != FH_FLAKY && t->verdict != FH_BROKEN)
			continue;
		printf("  %-6s %5.1f%% [%4.1f-%5.1f%%] %d/%d failed  ",
		       fh_verdict_names[t->verdict], 100 * t->flake_rate, 100 * t->ci_lo,
		       100 * t->ci_hi, t->rate_failed, t->rate_n);
		if (t->chaos && t->chaos->pert_attempts)
			printf("(under chaos %d/%d)  ", t->chaos->pert_failed,
			       t->chaos->pert_attempts);
		print_safe(t->nodeid);
		if (t->quarantine) {
			fputs(quarantine_active(t) ? "  [quarantined: " : "  [quarantine expired: ",
			      stdout);
			print_safe(t->quarantine->owner);
			putchar(']');
		}
		putchar('\n');
		listed++;
	}
	if (bad > listed)
		printf("  ... and %zu more flaky or broken tests (see the report)\n", bad - listed);
	if (run->malformed_records)
		printf("flakehunter: %d malformed attempt records skipped\n", run->malformed_records);
	if (html_ok) {
		fputs("flakehunter: report: ", stdout);
		print_safe(html);
		putchar('\n');
	}
	if (json_ok) {
		fputs("flakehunter: json: ", stdout);
		print_safe(json);
		putchar('\n');
	}
}

/* FH_TIMING=1 prints how long each stage took on stderr (benchmarks use it for the split). */
static int64_t stage_t0;
static bool timing;

/* The process's peak resident set so far in kB (VmHWM), 0 when unknown. */
static long peak_rss_kb(void)
{
	char *text = NULL, *p;
	long kb = 0;

	if (read_file("/proc/self/status", 1 << 16, &text, NULL) == 0 &&
	    (p = strstr(text, "VmHWM:")))
		kb = strtol(p + 6, NULL, 10);
	free(text);
	return kb;
}

static void stage_done(const char *name)
{
	int64_t t = now_ns();

	if (timing)
		fprintf(stderr, "fh-analyze: timing: %-8s %8.1f ms  peak RSS %ld MB\n", name,
			(t - stage_t0) / 1e6, peak_rss_kb() >> 10);
	stage_t0 = t;
}

/* The CI outputs asked for: JUnit XML, Markdown, step summary, annotations. 0 or 1. */
static int ci_outputs(const struct fh_run *run, const struct report_opts *o)
{
	struct markdown_opts md = { o->out, o->markdown, o->report_link };
	int status = 0;

	if (o->junit) {
		if (junit_write(run, o->junit))
			status = 1;
		else
			stage_done("junit");
	}
	if (o->markdown && markdown_write(run, &md, o->markdown, false))
		status = 1;
	if (o->step_summary) {
		md.md_path = NULL;
		if (markdown_write(run, &md, o->step_summary, true))
			status = 1;
	}
	return status;
}

static int cmd_report(int argc, char **argv)
{
	struct report_opts o = { 0 };
	struct fh_run run;
	char *json = NULL;
	int r, status = 0, html_r, json_r;

	r = parse_report(argc, argv, &o);
	if (r)
		return r;
	if (!o.out)
		o.out = "flakehunter_report.html";
	if (!o.json)
		o.json = json = json_beside(o.out);
	if (!o.history_dir)
		o.history_dir = ".flakehunter/history";
	fh_quiet = o.quiet;
	timing = getenv("FH_TIMING") && strcmp(getenv("FH_TIMING"), "0");
	stage_t0 = now_ns();

	if (run_load(o.run_dir, &run) < 0) {
		free(json);
		return 1;
	}
	stage_done("load");
	if (o.lost_records)
		run.lost_records = o.lost_n;
	sources_quarantine(&run); /* a merged run: its shards' quarantine file */
	redact_run(&run); /* no writer below sees a secret from a failure message */
	run.history_enabled = !o.no_history;
	run.ai_requested = o.ai;
	run_compute(&run);
	stage_done("compute");
	/* Clusters come after the evidence: an attempt's stack fingerprint (the stack of its last
	 * blocking call) splits failures with the same traceback that hung in different places. */
	sources_evidence(&run); /* a merged run: source by source (clocks are per machine) */
	sources_finish(&run);
	stage_done("evidence");
	hang_attach(&run);
	stage_done("hang");
	features_run(&run); /* every later stage reads the attempts' features, none derives them */
	stage_done("features");
	run_cluster(&run);
	stage_done("cluster");
	if (run.history_enabled) { /* before diagnose: the `state` rule reads test->hist */
		history_update(&run, o.history_dir);
		stage_done("history");
	}
	order_run(&run); /* before diagnose: the `order` rule reads test->order */
	stage_done("order");
	diagnose_run(&run);
	chaos_run(&run); /* after diagnose: adds its sentence to the diagnosis evidence */
	perf_cause_run(&run); /* after diagnose: the perf verdicts and perf.cause */
	stage_done("diagnose");
	if (o.ai) {
		ai_run(&run, &o.ai_opt);
		stage_done("ai");
	}
	json_r = summary_write(&run, o.json);
	stage_done("json");
	run.json_path = json_r ? NULL : o.json;
	html_r = report_write(&run, o.out);
	stage_done("html");
	if (json_r || html_r)
		status = 1;
	if (ci_outputs(&run, &o))
		status = 1;
	terminal_summary(&run, o.out, o.json, html_r == 0, json_r == 0);
	if (o.annotations)
		annotations_print(&run, o.annotations_prefix, stdout);
	run_free(&run);
	free(json);
	return status;
}

/* R as 0.2 or 20%, within [0, 1]; false when it is not. */
static bool parse_rate(const char *s, double *rate)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return false;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end || !(v >= 0 && v <= 1))
		return false;
	*rate = v;
	return true;
}

/* The stages a command other than the report runs before its own (no history, no AI): the
 * rates, the evidence (a merged run joins source by source) and the features. */
static void offline_stages(struct fh_run *run)
{
	redact_run(run);
	run->history_enabled = false;
	run_compute(run);
	sources_evidence(run);
	sources_finish(run);
	features_run(run);
}

static int cmd_quarantine(int argc, char **argv)
{
	struct quarantine_suggest_opts q = { 0, "unassigned", 30, 0 };
	const char *run_dir = NULL, *rate = NULL, *days = NULL;
	struct fh_run run;
	int i, r;

	if (argc < 3 || strcmp(argv[2], "suggest"))
		return usage_error("quarantine: the only command is 'suggest'",
				   argc >= 3 ? argv[2] : NULL);
	for (i = 3; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		}
		if ((r = opt_value(argc, argv, &i, "--min-rate", &rate)) ||
		    (r = opt_value(argc, argv, &i, "--owner", &q.owner)) ||
		    (r = opt_value(argc, argv, &i, "--days", &days))) {
			if (r < 0)
				return usage_error("option needs a value", a);
			continue;
		}
		if (a[0] == '-' && a[1])
			return usage_error("unknown option", a);
		if (run_dir)
			return usage_error("more than one RUN_DIR", a);
		run_dir = a;
	}
	if (!run_dir)
		return usage_error("quarantine suggest needs RUN_DIR", NULL);
	if (rate && !parse_rate(rate, &q.min_rate))
		return usage_error("--min-rate: a rate between 0 and 1 (or 0% and 100%)", rate);
	if (days) {
		char *end;
		long d = strtol(days, &end, 10);

		if (end == days || *end || d < 1 || d > 3650)
			return usage_error("--days: a whole number of days from 1 to 3650", days);
		q.days = (int)d;
	}
	if (!*q.owner)
		return usage_error("--owner: must not be empty", NULL);
	if (run_load(run_dir, &run) < 0)
		return 1;
	sources_quarantine(&run);
	/* The report's stages up to the diagnosis (the diagnosis reads the features). */
	offline_stages(&run);
	run_cluster(&run);
	order_run(&run);
	diagnose_run(&run);
	quarantine_suggest(&run, &q, stdout);
	run_free(&run);
	return fflush(stdout) ? 1 : 0;
}

static int wants_help(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static int cmd_merge(int argc, char **argv)
{
	struct merge_opts o = { 0 };
	int i, r, status;

	if (wants_help(argc, argv, 2)) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return 0;
	}
	o.inputs = xcalloc((size_t)argc, sizeof(*o.inputs));
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		r = opt_value(argc, argv, &i, "--out", &o.out);
		if (r < 0) {
			free(o.inputs);
			return usage_error("option needs a value", a);
		}
		if (r)
			continue;
		if (!strcmp(a, "--strict")) {
			o.strict = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			fh_quiet = 1;
		} else if (a[0] == '-' && a[1]) {
			free(o.inputs);
			return usage_error("unknown option", a);
		} else {
			o.inputs[o.ninputs++] = argv[i];
		}
	}
	if (!o.out || !*o.out) {
		free(o.inputs);
		return usage_error("merge needs --out RUN_DIR", NULL);
	}
	if (!o.ninputs) {
		free(o.inputs);
		return usage_error("merge needs at least one RUN_DIR", NULL);
	}
	status = merge_run(&o);
	free(o.inputs);
	fflush(stdout);
	return status;
}

static int cmd_history(int argc, char **argv)
{
	const char *dir = NULL;

	if (wants_help(argc, argv, 2)) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return 0;
	}
	if (argc < 3 || strcmp(argv[2], "import"))
		return usage_error("history needs a subcommand: import DIR", argc > 2 ? argv[2] : NULL);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			fh_quiet = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("unknown option", argv[i]);
		else if (dir)
			return usage_error("more than one DIR", argv[i]);
		else
			dir = argv[i];
	}
	if (!dir)
		return usage_error("history import needs DIR", NULL);
	return history_import(dir);
}

static int cmd_dump(int argc, char **argv)
{
	int i, status = 0;

	if (argc < 3)
		return usage_error("dump needs at least one FILE", NULL);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 0;
		}
	}
	for (i = 2; i < argc; i++)
		if (trace_dump(argv[i], stdout) < 0)
			status = 1; /* the reader printed the one line naming the file and place */
	fflush(stdout);
	return status;
}

/* `candidates RUN_DIR`: the report's stages up to the order analysis, then candidates.json. */
static int cmd_candidates(int argc, char **argv)
{
	const char *run_dir = NULL;
	struct fh_run run;
	int r;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet"))
			fh_quiet = true;
		else if (argv[i][0] == '-')
			return usage_error("unknown option", argv[i]);
		else if (run_dir)
			return usage_error("more than one RUN_DIR", argv[i]);
		else
			run_dir = argv[i];
	}
	if (!run_dir)
		return usage_error("candidates needs RUN_DIR", NULL);
	if (run_load(run_dir, &run) < 0)
		return 1;
	offline_stages(&run);
	order_run(&run);
	char *path = arena_printf(&run.arena, "%s/candidates.json", run_dir);
	r = order_candidates_write(&run, path);
	run_free(&run);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing command", NULL);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fh-analyze %s\n", FH_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc, argv);
	if (!strcmp(argv[1], "history"))
		return cmd_history(argc, argv);
	if (!strcmp(argv[1], "merge"))
		return cmd_merge(argc, argv);
	if (!strcmp(argv[1], "dump"))
		return cmd_dump(argc, argv);
	if (!strcmp(argv[1], "candidates"))
		return cmd_candidates(argc, argv);
	if (!strcmp(argv[1], "quarantine"))
		return cmd_quarantine(argc, argv);
	return usage_error("unknown command", argv[1]);
}
