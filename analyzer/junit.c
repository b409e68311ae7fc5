/* SPDX-License-Identifier: MIT */
/*
 * The Surefire JUnit XML report (junit.h): streamed into one struct buf, flushed to a
 * temporary file every FLUSH_AT bytes and renamed into place (write_file_streamed).
 */
#include "junit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chaos_rec.h"
#include "escape.h"
#include "files.h"

#define JUNIT_MAX ((size_t)4 << 30)
#define FLUSH_AT (1u << 20)

static void attr(struct buf *b, const char *name, const char *value)
{
	buf_putc(b, ' ');
	buf_puts(b, name);
	buf_puts(b, "=\"");
	buf_xml(b, value, true);
	buf_putc(b, '"');
}

/* SUREFIRE_TIME: digits, a point, at most three decimals. */
static void time_attr(struct buf *b, double s)
{
	if (!(s >= 0) || s > 1e12)
		s = 0;
	buf_printf(b, " time=\"%.3f\"", s);
}

/* classname and name of a node id: "a/b/test_x.py::TestK::test_m[1]" gives
 * ("a.b.test_x.TestK", "test_m[1]"), as pytest's own junitxml does. */
static void split_nodeid(const char *nodeid, struct buf *cls, struct buf *name)
{
	const char *sep = strstr(nodeid, "::"), *last, *p;
	size_t flen;

	if (!sep) {
		buf_puts(name, nodeid);
		return;
	}
	flen = (size_t)(sep - nodeid);
	if (flen > 3 && !strncmp(sep - 3, ".py", 3))
		flen -= 3;
	for (p = nodeid; p < nodeid + flen; p++)
		buf_putc(cls, *p == '/' || *p == '\\' ? '.' : *p);
	last = sep;
	for (p = sep; (p = strstr(p + 2, "::")); )
		last = p;
	for (p = sep; p < last; p++) {
		if (p[0] == ':' && p[1] == ':') {
			buf_putc(cls, '.');
			p++;
		} else {
			buf_putc(cls, *p);
		}
	}
	buf_puts(name, last + 2);
}

static void stack_trace(struct buf *b, const struct fh_test *t, const struct fh_attempt *a)
{
	size_t i;

	buf_printf(b, "Traceback (most recent call last), attempt %d of %zu", a->attempt,
		   t->nattempts);
	if (a->when)
		buf_printf(b, ", %s phase", a->when);
	buf_puts(b, ":\n");
	for (i = 0; i < a->nframes; i++) {
		const struct fh_frame *f = &a->frames[i];

		buf_puts(b, "  File \"");
		buf_puts(b, f->path ? f->path : "?");
		buf_printf(b, "\", line %d, in ", f->line);
		buf_puts(b, f->function ? f->function : "?");
		buf_putc(b, '\n');
		if (f->source && *f->source) {
			buf_puts(b, "    ");
			buf_puts(b, f->source);
			buf_putc(b, '\n');
		}
	}
	buf_puts(b, a->error_type ? a->error_type : "Failed");
	if (a->error_message && *a->error_message) {
		buf_puts(b, ": ");
		buf_puts(b, a->error_message);
	}
}

/* One failing attempt as <TAG type message>: with content (failure, error) or with
 * stackTrace and system-out/err children (the rerun and flaky elements). */
static void failing_attempt(struct buf *b, const char *tag, bool simple, const struct fh_test *t,
			    const struct fh_attempt *a)
{
	struct buf tmp = BUF_INIT((size_t)64 << 20);
	size_t mlen;

	buf_puts(b, "    <");
	buf_puts(b, tag);
	if (a->error_message) {
		mlen = strlen(a->error_message);
		if (mlen > JUNIT_MAX_MESSAGE) {
			mlen = JUNIT_MAX_MESSAGE;
			while (mlen > 0 && ((unsigned char)a->error_message[mlen] & 0xc0) == 0x80)
				mlen--;
		}
		buf_add(&tmp, a->error_message, mlen);
		attr(b, "message", buf_str(&tmp));
		buf_reset(&tmp);
	}
	attr(b, "type", a->error_type && *a->error_type ? a->error_type : "Failed");
	buf_putc(b, '>');
	stack_trace(&tmp, t, a);
	if (simple) {
		buf_xml(b, buf_str(&tmp), false);
	} else {
		buf_puts(b, "\n      <stackTrace>");
		buf_xml(b, buf_str(&tmp), false);
		buf_puts(b, "</stackTrace>");
		if (a->out_stdout || a->out_log) {
			buf_puts(b, "\n      <system-out>");
			buf_xml(b, a->out_stdout, false);
			if (a->out_log) {
				buf_puts(b, a->out_stdout ? "\n--- captured log ---\n" : "");
				buf_xml(b, a->out_log, false);
			}
			buf_puts(b, "</system-out>");
		}
		if (a->out_stderr) {
			buf_puts(b, "\n      <system-err>");
			buf_xml(b, a->out_stderr, false);
			buf_puts(b, "</system-err>");
		}
		buf_puts(b, "\n    ");
	}
	buf_puts(b, "</");
	buf_puts(b, tag);
	buf_puts(b, ">\n");
	buf_free(&tmp);
}

static bool failing(const struct fh_attempt *a)
{
	return a->outcome == FH_FAILED || a->outcome == FH_ERROR;
}

static void quarantine_text(struct buf *b, const struct fh_quarantine *q)
{
	buf_puts(b, q->owner);
	buf_puts(b, q->expired ? ", expired " : ", until ");
	buf_puts(b, q->expires);
	if (q->reason && *q->reason) {
		buf_puts(b, ": ");
		buf_puts(b, q->reason);
	}
}

/* True when t has a diagnosis whose kind has a name. */
static bool diagnosed(const struct fh_test *t)
{
	return t->diag && (unsigned)t->diag->kind < FH_KIND_COUNT;
}

/* "timeout (net)", "crash", ... */
static void diagnosis_text(struct buf *b, const struct fh_test *t)
{
	const char *on;

	if (!diagnosed(t))
		return;
	buf_puts(b, fh_kind_names[t->diag->kind]);
	on = (unsigned)t->diag->blocked_on < FH_ON_COUNT ? fh_blocked_on_names[t->diag->blocked_on]
							   : NULL;
	if (on) {
		buf_puts(b, " (");
		buf_puts(b, on);
		buf_putc(b, ')');
	}
}

/* The test's one-line summary for its testcase's <system-out>. */
static void test_line(struct buf *b, const struct fh_test *t)
{
	buf_printf(b, "flakehunter: %s, %d/%d attempts failed", fh_verdict_names[t->verdict],
		   t->rate_failed, t->rate_n);
	chaos_rate_note(b, t);
	if (t->skipped)
		buf_printf(b, " (%d skipped)", t->skipped);
	buf_printf(b, ", flake rate %.1f%% (95%% CI %.1f-%.1f%%), %zu of %d planned attempts",
		   100 * t->flake_rate, 100 * t->ci_lo, 100 * t->ci_hi, t->nattempts, t->planned);
	if (diagnosed(t)) {
		buf_puts(b, "; diagnosis: ");
		diagnosis_text(b, t);
		if (t->diag->nevidence && t->diag->evidence[0]) {
			buf_puts(b, ": ");
			buf_puts(b, t->diag->evidence[0]);
		}
	}
	if (t->quarantine) {
		buf_puts(b, "; quarantined: ");
		quarantine_text(b, t->quarantine);
	}
}

static void property(struct buf *b, const char *name, const char *nodeid, const char *value)
{
	struct buf n = BUF_INIT(1 << 20);

	buf_puts(&n, name);
	if (nodeid) {
		buf_putc(&n, '[');
		buf_puts(&n, nodeid);
		buf_putc(&n, ']');
	}
	buf_puts(b, "    <property");
	attr(b, "name", buf_str(&n));
	attr(b, "value", value);
	buf_puts(b, "/>\n");
	buf_free(&n);
}

static void properties(struct buf *b, const struct fh_run *run)
{
	const struct fh_run_meta *m = &run->meta;
	struct buf v = BUF_INIT(1 << 20);
	size_t i;

	buf_puts(b, "  <properties>\n");
	property(b, "flakehunter.run_id", NULL, m->run_id);
	buf_printf(&v, "%d", m->runs_per_test);
	property(b, "flakehunter.runs_per_test", NULL, buf_str(&v));
	property(b, "flakehunter.runs_mode", NULL, m->runs_mode ? m->runs_mode : "fixed");
	if (m->budget_s > 0) {
		buf_reset(&v);
		buf_printf(&v, "%.3f", m->budget_s);
		property(b, "flakehunter.budget_s", NULL, buf_str(&v));
	}
	property(b, "flakehunter.fail_on", NULL, m->fail_on ? m->fail_on : "any");
	property(b, "flakehunter.tracing", NULL, m->tracing ? "true" : "false");
	property(b, "flakehunter.host", NULL, m->host);
	if (m->commit)
		property(b, "flakehunter.git_commit", NULL, m->commit);
	if (m->branch)
		property(b, "flakehunter.git_branch", NULL, m->branch);
	if (run->quarantine_file)
		property(b, "flakehunter.quarantine_file", NULL, run->quarantine_file);
	for (i = 0; i < run->ntests; i++) {
		const struct fh_test *t = &run->tests[i];

		property(b, "flakehunter.verdict", t->nodeid, fh_verdict_names[t->verdict]);
		buf_reset(&v);
		buf_printf(&v, "%.6g", t->flake_rate);
		property(b, "flakehunter.flake_rate", t->nodeid, buf_str(&v));
		buf_reset(&v);
		buf_printf(&v, "%.6g-%.6g", t->ci_lo, t->ci_hi);
		property(b, "flakehunter.flake_rate_ci95", t->nodeid, buf_str(&v));
		buf_reset(&v);
		buf_printf(&v, "%zu/%d", t->nattempts, t->planned);
		property(b, "flakehunter.attempts", t->nodeid, buf_str(&v));
		if (t->chaos && t->chaos->pert_attempts) {
			/* the perturbed side, apart: flake_rate above is the natural one */
			buf_reset(&v);
			buf_printf(&v, "%.6g", t->chaos->pert_rate);
			property(b, "flakehunter.chaos_flake_rate", t->nodeid, buf_str(&v));
			buf_reset(&v);
			buf_printf(&v, "%d/%d", t->chaos->pert_failed, t->chaos->pert_attempts);
			property(b, "flakehunter.chaos_failed", t->nodeid, buf_str(&v));
		}
		if (diagnosed(t)) {
			buf_reset(&v);
			diagnosis_text(&v, t);
			property(b, "flakehunter.diagnosis", t->nodeid, buf_str(&v));
		}
		if (t->quarantine) {
			buf_reset(&v);
			quarantine_text(&v, t->quarantine);
			property(b, "flakehunter.quarantine", t->nodeid, buf_str(&v));
		}
	}
	buf_puts(b, "  </properties>\n");
	buf_free(&v);
}

static void testcase(struct buf *b, const struct fh_test *t)
{
	struct buf cls = BUF_INIT(1 << 20), name = BUF_INIT(1 << 20), line = BUF_INIT(1 << 20);
	const struct fh_attempt *primary = NULL;
	double total = 0;
	size_t i;
	int pass;

	for (i = 0; i < t->nattempts; i++)
		total += t->attempts[i].duration_s;
	split_nodeid(t->nodeid, &cls, &name);
	buf_puts(b, "  <testcase");
	attr(b, "name", buf_str(&name));
	attr(b, "classname", buf_str(&cls));
	time_attr(b, total);
	buf_puts(b, ">\n");
	if (t->verdict == FH_BROKEN) {
		for (i = 0; i < t->nattempts && !primary; i++)
			if (failing(&t->attempts[i]))
				primary = &t->attempts[i];
		if (primary && primary->outcome == FH_FAILED)
			failing_attempt(b, "failure", true, t, primary);
	}
	/* The schema's order: failure, rerunFailure, flakyFailure, skipped, error, rerunError,
	 * flakyError, system-out, system-err. */
	for (pass = 0; pass < 2; pass++) {
		enum fh_outcome want = pass ? FH_ERROR : FH_FAILED;

		if (pass == 1 && t->verdict == FH_SKIPPED_ALL)
			buf_puts(b, "    <skipped message=\"every attempt was skipped\"/>\n");
		if (pass == 1 && primary && primary->outcome == FH_ERROR)
			failing_attempt(b, "error", true, t, primary);
		for (i = 0; i < t->nattempts; i++) {
			const struct fh_attempt *a = &t->attempts[i];

			if (a->outcome != want || a == primary)
				continue;
			if (t->verdict == FH_BROKEN)
				failing_attempt(b, pass ? "rerunError" : "rerunFailure", false, t, a);
			else
				failing_attempt(b, pass ? "flakyError" : "flakyFailure", false, t, a);
		}
	}
	test_line(&line, t);
	buf_puts(b, "    <system-out>");
	buf_xml(b, buf_str(&line), false);
	buf_puts(b, "</system-out>\n  </testcase>\n");
	buf_free(&cls);
	buf_free(&name);
	buf_free(&line);
}

static int render(const struct fh_run *run, struct buf *b, int fd)
{
	int failures = 0, errors = 0, skipped = 0, r = 0;
	double total = 0;
	size_t i, j;

	/* The counts go into the opening tag, before the testcases: count first. */
	for (i = 0; i < run->ntests; i++) {
		const struct fh_test *t = &run->tests[i];
		bool prim_failed = false;

		for (j = 0; j < t->nattempts; j++) {
			total += t->attempts[j].duration_s;
			if (t->verdict == FH_BROKEN && !prim_failed && failing(&t->attempts[j])) {
				prim_failed = true;
				if (t->attempts[j].outcome == FH_FAILED)
					failures++;
				else
					errors++;
			}
		}
		if (t->verdict == FH_SKIPPED_ALL)
			skipped++;
	}
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite");
	attr(b, "name", "flakehunter");
	buf_printf(b, " tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", run->ntests,
		   failures, errors, skipped);
	time_attr(b, total);
	attr(b, "version", "3.0");
	buf_puts(b, ">\n");
	properties(b, run);
	for (i = 0; i < run->ntests; i++) {
		testcase(b, &run->tests[i]);
		if (buf_len(b) > FLUSH_AT && (r = buf_flush_fd(b, fd)))
			return r;
	}
	buf_puts(b, "</testsuite>\n");
	return buf_failed(b) ? -ENOBUFS : buf_flush_fd(b, fd);
}

static int render_cb(const void *run, struct buf *b, int fd)
{
	return render(run, b, fd);
}

int junit_render(const struct fh_run *run, struct buf *b)
{
	return render(run, b, -1);
}

int junit_write(const struct fh_run *run, const char *path)
{
	int r = mkdir_parent(path);

	if (!r)
		r = write_file_streamed(path, JUNIT_MAX, render_cb, run);
	if (r == -ENOBUFS)
		return error("%s: JUnit report too large (over %zu bytes)", path, JUNIT_MAX);
	if (r)
		return error("cannot write '%s': %s", path, strerror(-r));
	return 0;
}
