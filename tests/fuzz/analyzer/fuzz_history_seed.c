/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one pytest-flakehunter history CSV converted into this tool's rows
 * (seed_convert) and read back by our reader (hist_acc_add_buffer): whatever the input, the
 * converted rows must be rows our reader accepts. Built by `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "history_seed.h"
#include "model.h"
#include "rundir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool keep(void *ctx, const char *nodeid, const char *run_id, const char *row, size_t len)
{
	(void)nodeid;
	(void)run_id;
	buf_add(ctx, row, len);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf rows = BUF_INIT(64u << 20), warn = BUF_INIT(1u << 20);
	struct fh_hist_acc *acc;
	struct fh_run run;
	struct fh_test t;
	int n;

	fh_quiet = 1;
	history_header(&rows);
	n = seed_convert("fuzz.csv", (const char *)data, size, "t.py::test_x", keep, &rows, &warn);
	memset(&run, 0, sizeof(run));
	memset(&t, 0, sizeof(t));
	t.nodeid = "t.py::test_x";
	acc = hist_acc_new(t.nodeid);
	if (hist_acc_add_buffer(acc, "conv.csv", buf_str(&rows), buf_len(&rows), NULL) != (n > 0 ? n : 0))
		abort(); /* a converted row our reader rejects */
	hist_acc_finish(acc, &run, &t);
	if (t.hist->skipped_rows)
		abort();
	run_free(&run);
	buf_free(&rows);
	buf_free(&warn);
	return 0;
}
