/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: attempt records (records_add_buffer) followed by the stages that consume
 * them (statistics, clusters, the JSON summary), and meta.json parsing. Built by `make fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "records.h"
#include "rundir.h"
#include "stages.h"
#include "summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fh_run run;
	struct fh_records *rec;
	struct buf b = BUF_INIT(1 << 26);

	fh_quiet = 1;
	memset(&run, 0, sizeof(run));
	run.meta.run_id = "fuzz";
	meta_parse_buffer(&run, "meta.json", (const char *)data, size);
	rec = records_begin(&run);
	records_add_buffer(rec, "attempts-fuzz.jsonl", (const char *)data, size);
	records_finish(rec);
	run_compute(&run);
	run_cluster(&run);
	summary_render(&run, &b);
	buf_free(&b);
	run_free(&run);
	return 0;
}
