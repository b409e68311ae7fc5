/* SPDX-License-Identifier: MIT */
/*
 * The module maps the preload writes beside each trace file (TRACE_DIR/<pid>.maps, format in
 * preload/modmap.h): which module spanned which addresses of a process, with its build-id,
 * so that a captured address can be named offline (analyzer/symbolize.c).
 *
 * Ownership: a struct fh_modmap owns its strings (modmap_free()).
 */
#ifndef FH_MODMAP_READ_H
#define FH_MODMAP_READ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct fh_module {
	uint64_t lo, hi;        /* span in the process */
	uint64_t bias;          /* file address = process address - bias */
	const char *build_id;   /* lowercase hex; NULL when none recorded */
	const char *path;       /* as recorded; "[vdso]" for the vDSO */
};

struct fh_modmap {
	int pid, ppid;
	const char *stack_status;   /* "on", "off: ..."; may be NULL */
	const char *pystack_status; /* "on 3.11.2", "off: ..."; may be NULL */
	struct fh_module *mods; size_t nmods;
	/* The address space cut into segments, each owned by the last module line holding it
	 * (SIZE_MAX: none), sorted by start: modmap_find() is a binary search, so that a map of
	 * many (overlapping) lines costs no more per looked-up address than a small one. */
	uint64_t *seg_lo; size_t *seg_mod; size_t nseg;
	struct arena arena;         /* owns every string above */
};

/* Parses a .maps file (hostile input: bad lines are skipped, counted in *bad if non-NULL).
 * 0, or -errno when the file cannot be read or is not a module map. Free with modmap_free(). */
int modmap_load(const char *path, struct fh_modmap *out, int *bad);
int modmap_parse(const char *text, size_t len, struct fh_modmap *out, int *bad);
void modmap_free(struct fh_modmap *m);
/* The last module whose [lo, hi) holds pc; NULL when none. Borrowed from m. */
const struct fh_module *modmap_find(const struct fh_modmap *m, uint64_t pc);

#endif
