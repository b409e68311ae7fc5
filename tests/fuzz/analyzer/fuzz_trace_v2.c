/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: version 2 trace files (analyzer/trace.c) through the index, every
 * thread's load and decode (strings, stacks) and the dump printer, as `fh-analyze dump` and the
 * evidence stage read them. The input's first 8 bytes are forced to the version 2 magic, so
 * that every input exercises this version's reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "fhtrace_format.h"
#include "trace.h"
#include "util.h"
#include "fh_fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_trace_input(data, size, FHT_MAGIC2);
	return 0;
}
