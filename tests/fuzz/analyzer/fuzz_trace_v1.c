/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: version 1 trace files (analyzer/trace.c) through the index, every
 * thread's load and decode (strings, stacks) and the dump printer, as `fh-analyze dump` and the
 * evidence stage read them. The input's first 8 bytes are forced to the version 1 magic, so
 * that every input exercises this version's reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_fuzz_file.h"
#include "dump.h"
#include "fhtrace_format.h"
#include "trace.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	uint8_t *copy = malloc(size > 8 ? size : 8);
	struct trace_index *ix;

	fh_quiet = 1;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	memcpy(copy, data, size);
	memcpy(copy, FHT_MAGIC, 8);
	const char *path = fuzz_file(copy, size > 8 ? size : 8);
	free(copy);
	if (trace_index_open(path, &ix) == 0) {
		size_t nt = trace_index_nthreads(ix);

		for (size_t t = 0; t < (nt ? nt : 1); t++) {
			struct fh_trace_file tf;

			if (trace_index_load(ix, t, &tf) == 0)
				trace_free(&tf);
		}
		trace_index_close(ix);
	}
	trace_dump(path, devnull);
	return 0;
}
