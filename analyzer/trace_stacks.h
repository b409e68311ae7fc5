/* SPDX-License-Identifier: MIT */
/*
 * Stack records of trace files (issue 6): decoding FHT_REC_STACK records into fh_event.stack /
 * pystack (called by trace_load()), and printing them, symbolized, under events in
 * `fh-analyze dump`. Format: struct fht_stack in preload/fhtrace_format.h.
 */
#ifndef FH_TRACE_STACKS_H
#define FH_TRACE_STACKS_H

#include <stdint.h>
#include <stdio.h>

#include "trace.h"

/* Fills stack/nstack/pystack/npystack of every event of tf whose stack_ref names a stack in
 * the n records of rec_size bytes at base (the mapped file, hostile). Arrays and strings come
 * from a (the reader's storage, freed with the file); events sharing a stack (a call and the
 * signals that cut it) share the arrays. Returns the number of stacks decoded. */
int trace_stacks_decode(const char *base, uint32_t rec_size, uint64_t n, struct fh_trace_file *tf,
			struct arena *a);

/* Prints "    at <frame>" lines for an event's stack, symbolized with the module map of pid
 * found beside the trace file. Caller frees the printer. */
struct trace_stack_printer;
struct trace_stack_printer *trace_stack_printer_new(const char *trace_path, int pid);
void trace_stack_print(struct trace_stack_printer *p, FILE *out, const struct fh_event *ev);
void trace_stack_printer_free(struct trace_stack_printer *p);

#endif
