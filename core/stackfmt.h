/* SPDX-License-Identifier: MIT */
/*
 * A captured stack (struct fh_stack of the model) as text: its frames one line each, and a
 * fingerprint of the whole stack for clustering.
 */
#ifndef FH_STACKFMT_H
#define FH_STACKFMT_H

#include "model.h"

/* Second cluster fingerprint: 12 hex digits from the stack of the last blocking call,
 * so "same Python traceback, different place it hung" splits. Python frames count with
 * path:line:function, native frames with module:function (module+address when the function is
 * unknown). NULL for an empty stack. From a. */
const char *stack_fingerprint(const struct fh_stack *st, struct arena *a);

/* "python tests/test_x.py:88 in fetch" / "native libc.so.6 recv (recv.c:28) +0x1234" */
int stack_frame_format(const struct fh_stack_frame *f, struct buf *b);

#endif
