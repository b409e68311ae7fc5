/* SPDX-License-Identifier: MIT */
/*
 * The JUnit XML report (`fh-analyze report --junit PATH`, the plugin's --fh-junit), valid
 * against Maven Surefire's schema (surefire-test-report-3.0.xsd), whose rerun elements
 * Jenkins, GitLab and other JUnit readers understand. One <testsuite name="flakehunter">, one
 * <testcase> per test (classname: the module's dotted path plus classes; name: the function
 * with its parameters), time = the sum of its attempts:
 *
 *   - stable: an empty testcase;
 *   - flaky: a passing testcase with one <flakyFailure> per failed attempt and one
 *     <flakyError> per attempt that errored in setup or teardown;
 *   - broken: the first attempt as <failure> (or <error>), every other one as <rerunFailure>
 *     (or <rerunError>); counted in the suite's failures (or errors);
 *   - skipped (every attempt skipped): <skipped>.
 *
 * Each failing attempt carries its type, message (first JUNIT_MAX_MESSAGE bytes), a Python
 * style stack trace built from the record's frames, and the attempt's captured output
 * (system-out: stdout then log; system-err: stderr) as the plugin cut it. The testcase's own
 * <system-out> is one line: verdict, counts, rate and interval, diagnosis, quarantine.
 * Suite <properties> hold the run (flakehunter.run_id, ...) and, per test,
 * flakehunter.verdict[NODEID], .flake_rate[...], .flake_rate_ci95[...], .attempts[...]
 * ("actual/planned"), .diagnosis[...], .quarantine[...]. Under chaos the rate is the natural
 * one (unperturbed attempts) and .chaos_flake_rate[...], .chaos_failed[...] ("3/7") give the
 * perturbed side apart (docs/FORMATS.md, "Chaos mode").
 *
 * Text is escaped for XML 1.0: & < > (and quotes, tabs and line ends in attributes) as
 * entities; characters XML 1.0 forbids (controls other than tab, line feed and carriage
 * return; U+FFFE, U+FFFF) as the visible text \xNN or \uFFFE; invalid UTF-8 as U+FFFD.
 */
#ifndef FH_JUNIT_H
#define FH_JUNIT_H

#include "model.h"

#define JUNIT_MAX_MESSAGE 2000

/* Writes the report to path (streamed to a temporary file, then renamed). 0 or -errno after one
 * error line. */
int junit_write(const struct fh_run *run, const char *path);

/* The report in memory (tests). 0, or -ENOBUFS when b's cap was hit. */
int junit_render(const struct fh_run *run, struct buf *b);

#endif
