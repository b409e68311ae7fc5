/* SPDX-License-Identifier: MIT */
/*
 * Offline symbolization of captured stacks: module maps written by the preload (read by
 * modmap_read.h) plus elfutils libdw (dwfl_*) turn raw
 * return addresses into module, function and, where debug info exists (in the binary or in a
 * separate debug file found by build-id under /usr/lib/debug), file:line.
 *
 * - Every captured address is a return address, so it is looked up at pc - 1 (the call
 *   instruction), while fh_stack_frame.addr keeps the module-relative pc itself.
 * - One libdw session per distinct module (path + build-id), cached for the whole run, shared
 *   by every process that loaded it: the lookup uses module-relative addresses.
 * - A module whose file now has a different build-id than the one recorded (rebuilt or
 *   upgraded since the run) is not trusted: its frames carry only the module name, suffixed
 *   " [changed]", and no function or line. A missing file gives the module name alone.
 * - Python frames (already strings in the trace) come first, innermost first, then native
 *   frames innermost first.
 *
 * Ownership: symbolized strings are allocated from the arena passed in (the run's arena for
 * the model).
 */
#ifndef FH_SYMBOLIZE_H
#define FH_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "modmap_read.h"
#include "trace.h"

struct fh_symbolizer;
struct fh_symbolizer *symbolizer_new(void);
void symbolizer_free(struct fh_symbolizer *s);

/* One native frame. pc is a return address (looked up at pc - 1). Never fails: unknown parts
 * stay NULL/0 (module NULL when no module holds pc). Strings from a. Resolved frames are
 * cached by (m, pc) and point into the arena of their first resolution: use one symbolizer
 * with one arena, and keep m alive (and unmodified) while the symbolizer is. */
void symbolize_pc(struct fh_symbolizer *s, const struct fh_modmap *m, uint64_t pc,
		  struct arena *a, struct fh_stack_frame *out);

/* Python frames (copied) then the native frames of pcs; out->frames from a. 0 or -errno. */
int symbolize_stack(struct fh_symbolizer *s, const struct fh_modmap *m, const uint64_t *pcs,
		    int npcs, const struct fh_stack_frame *py, int npy, struct arena *a,
		    struct fh_stack *out);

/* The evidence stage's symbolization state for one run (the join owns it; nothing of it is in
 * the model): the libdw sessions and the module map of every (trace directory, pid) read so
 * far. Symbolized strings are allocated from run->arena. */
struct run_syms;
struct run_syms *run_syms_new(struct fh_run *run);
void run_syms_free(struct run_syms *rs); /* NULL is fine */
/* The stack of one decoded event (Python frames first, then native), symbolized with the
 * module map of the event's process (read once per pid from the trace file's directory, or
 * from RUN_DIR/trace when tf is NULL). out is left empty when the event has no stack. Python
 * paths under run->meta.rootdir are made relative to it. 0 or -EINVAL. */
int symbolize_event_stack(struct run_syms *rs, const struct fh_trace_file *tf,
			  const struct fh_event *ev, struct fh_stack *out);

#endif
