/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one history CSV (hist_acc_add_buffer, the CSV reader and the trends).
 * Built by `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "history.h"
#include "model.h"
#include "rundir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_run run;
	struct fh_test t;
	struct fh_hist_acc *acc;

	fh_quiet = 1;
	memset(&run, 0, sizeof(run));
	memset(&t, 0, sizeof(t));
	run.meta.run_id = "fuzz";
	run.meta.started_utc = "2026-11-23T22:20:31Z";
	t.nodeid = "tests/t.py::test_x";
	acc = hist_acc_new(t.nodeid);
	hist_acc_add_buffer(acc, "fuzz.csv", (const char *)data, size, "skip");
	hist_acc_add_run(acc, &run, &t);
	hist_acc_finish(acc, &run, &t);
	run_free(&run);
	return 0;
}
