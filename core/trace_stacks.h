/* SPDX-License-Identifier: MIT */
/*
 * Stack records of trace files: decoding FHT_REC_STACK records into fh_event.stack / pystack
 * (called by trace_load()). Format: struct fht_stack in preload/fhtrace_format.h. Printing
 * them, symbolized, is `fh-analyze dump`'s (analyzer/dump.c).
 */
#ifndef FH_TRACE_STACKS_H
#define FH_TRACE_STACKS_H

#include <stdint.h>

#include "trace.h"

/* Fills stack/nstack/pystack/npystack of every event of tf whose stack_ref names a stack in
 * the n records of rec_size bytes at base (the mapped file, hostile). Arrays and strings come
 * from a (the reader's storage, freed with the file); events sharing a stack (a call and the
 * signals that cut it) share the arrays. Returns the number of stacks decoded. */
int trace_stacks_decode(const char *base, uint32_t rec_size, uint64_t n, struct fh_trace_file *tf,
			struct arena *a);

#endif
