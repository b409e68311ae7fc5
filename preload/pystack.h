/* SPDX-License-Identifier: MIT */
/*
 * Python frames of the calling thread, read straight from CPython's private frame
 * chain: CPython 3.11 runs every Python function inside one native _PyEval_EvalFrameDefault
 * frame, so the native stack alone cannot say which Python line made a slow call.
 *
 * How: PyGILState_GetThisThreadState() (found with dlsym(RTLD_DEFAULT)) gives the calling
 * thread's PyThreadState even while the thread has released the GIL; from it,
 * tstate->cframe->current_frame and the ->previous chain of _PyInterpreterFrame. Each frame's
 * code object gives co_filename, co_qualname and, from co_linetable and prev_instr, the line.
 * Only the calling thread's own chain is read, and only from the thread that made the call,
 * after the call returned and before control goes back to Python: nothing can change it
 * meanwhile, so reading it at the end of a slow call gives the Python stack of its start.
 *
 * The layout is private to each CPython version. fh_pystack_init() reads Py_GetVersion() and
 * switches capture on only for versions whose offsets are in the table in pystack.c (tested
 * here: Debian's 3.11.2 and a pyenv 3.11.7). Anything else is off, and fh_pystack_status() says so (the module map
 * file records it, so the analyzer and the report can show it).
 *
 * Reading never allocates, takes no lock and makes no system call. Every pointer is checked
 * for NULL and alignment, every object's type against PyCode_Type / PyUnicode_Type /
 * PyBytes_Type, every length against its buffer, and the walk is bounded.
 */
#ifndef FH_PYSTACK_H
#define FH_PYSTACK_H

#include <stdbool.h>
#include <stdint.h>

#define FH_PYSTACK_MAX 32       /* innermost frames kept per capture */
#define FH_PYFILE_LEN 168       /* bytes incl. NUL; longer paths keep their tail */
#define FH_PYFUNC_LEN 48        /* bytes incl. NUL; longer names are cut */

#define FH_PYF_FILE_CUT 1       /* file holds only the tail of the path */
#define FH_PYF_FUNC_CUT 2       /* func was cut */

/* One Python frame; fixed size (224 bytes). */
struct fh_pyframe {
	int32_t line;               /* 0 when unknown */
	uint32_t flags;             /* FH_PYF_* */
	char func[FH_PYFUNC_LEN];   /* co_qualname, NUL-terminated */
	char file[FH_PYFILE_LEN];   /* co_filename, NUL-terminated */
};

/* Call once from the library constructor. 0 when Python frames can be read in this process;
 * -ENOENT when this is not a Python process (no Py_GetVersion), -ENOTSUP for an untested
 * version. Idempotent. */
int fh_pystack_init(void);

/* 1 when capture is on. */
int fh_pystack_enabled(void);

/* "on 3.11.2", "off: not a Python process", "off: unsupported Python 3.12.1"; static. */
const char *fh_pystack_status(void);

/* Stores up to max frames of the calling thread, innermost first. Returns the number stored;
 * 0 when off, when the thread has no Python thread state, or when it runs no Python code.
 * Frames still being set up (incomplete) are skipped, as CPython's own traceback does. */
int fh_pystack_capture(struct fh_pyframe *out, int max);

/* Up to max frames of another thread of this process, by its kernel tid (its PyThreadState's
 * native_thread_id), innermost first; 0 when it has no Python thread state. Every read goes
 * through process_vm_readv (the thread may be running: a changing chain reads as garbage or
 * stops, never faults). Not async-signal-safe; one such capture at a time in the process (the
 * hang snapshot serializes them). */
int fh_pystack_capture_tid(int tid, struct fh_pyframe *out, int max);

/* Where the calling thread's innermost Python frame is now: its code object and last
 * instruction, two words, no decoding (~5 ns: the lock tracker's acquire site). false when the
 * thread runs no Python code. */
bool fh_pystack_current_site(uintptr_t *code, uintptr_t *instr);

/*
 * The profiler's sample, in a signal handler: up to max frames of the calling thread,
 * innermost first, as identities (code object, its name objects, the instruction), without
 * decoding anything. Async-signal-safe: every read goes through process_vm_readv (the thread
 * may have been interrupted anywhere, a frame half pushed or a code object just released:
 * garbage reads as garbage or stops the walk, never faults), no static buffer, no lock, no
 * allocation; two system calls per frame. 0 when off or the thread runs no Python code.
 */
struct fh_pyraw {
	uintptr_t code;             /* the code object */
	uintptr_t qualname, filename; /* its co_qualname and co_filename objects */
	int32_t unit;               /* the code unit (instruction) the frame is at */
	int32_t pad;
};
int fh_pystack_sample(struct fh_pyraw *out, int max);

/* Decode a raw frame's names into f (line left 0), and its line, the same safe way; scratch is
 * the caller's buffer (a few hundred bytes: longer names are cut to what it holds). */
void fh_pystack_raw_names(const struct fh_pyraw *r, struct fh_pyframe *f, char *scratch,
			  size_t cap);
int fh_pystack_raw_line(const struct fh_pyraw *r, unsigned char *scratch, size_t cap);

/* Decodes a site saved by fh_pystack_current_site() into one frame (function, file, line),
 * reading through process_vm_readv (the code object may be gone by now: then 0). Same rules as
 * fh_pystack_capture_tid(). Returns 1 when *out holds the frame. */
int fh_pystack_code_site(uintptr_t code, uintptr_t instr, struct fh_pyframe *out);

#endif
