/* SPDX-License-Identifier: MIT */
/*
 * A captured stack of the model as text: one line per frame, and the stack's fingerprint (see
 * stackfmt.h). Needs no debug information: it reads frames already symbolized.
 */
#include "stackfmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *stack_fingerprint(const struct fh_stack *st, struct arena *a)
{
	uint64_t h = FNV64_INIT;

	if (!st || !st->nframes)
		return NULL;
	for (size_t i = 0; i < st->nframes; i++) {
		const struct fh_stack_frame *f = &st->frames[i];
		char num[32];
		bool py = f->kind && !strcmp(f->kind, "python");
		const char *parts[3] = { py ? f->path : f->module, f->function, NULL };
		if (py)
			snprintf(num, sizeof(num), ":%d", f->line);
		else if (!f->function)
			snprintf(num, sizeof(num), "+%" PRIx64, f->addr);
		else
			num[0] = 0;
		parts[2] = num;
		h = fnv64(h, py ? "P" : "N", 1);
		for (int k = 0; k < 3; k++) {
			const char *s = parts[k] ? parts[k] : "?";
			h = fnv64(h, s, strlen(s) + 1);
		}
	}
	return arena_printf(a, "%012" PRIx64, (uint64_t)(h & 0xffffffffffffULL));
}

int stack_frame_format(const struct fh_stack_frame *f, struct buf *b)
{
	if (f->kind && !strcmp(f->kind, "python"))
		return buf_printf(b, "python %s:%d in %s", f->path ? f->path : "?", f->line,
				  f->function ? f->function : "?");
	buf_printf(b, "native %s %s", f->module ? f->module : "?", f->function ? f->function : "?");
	if (f->path)
		buf_printf(b, " (%s:%d)", f->path, f->line);
	return buf_printf(b, " +0x%" PRIx64, f->addr);
}
