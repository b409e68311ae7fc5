/* SPDX-License-Identifier: MIT */
/*
 * Reads the Python frames of the calling thread from CPython's private structures (see
 * pystack.h). The offsets below were taken from Debian's python3.11-dev 3.11.2 headers
 * (Include/internal/pycore_frame.h, cpython/code.h, cpython/unicodeobject.h, compiled with
 * Py_BUILD_CORE and offsetof), and found identical in pyenv's 3.11.7 headers;
 * tests/py/test_stacks_python.py proves them against both interpreters. Adding a version means
 * adding a row after measuring and testing it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pystack.h"

#define MAX_WALK 512            /* frames walked at most (incomplete ones included) */

struct py_layout {
	const char *version;        /* Py_GetVersion() prefix up to the first space */
	unsigned ts_cframe;         /* PyThreadState.cframe */
	unsigned cf_current;        /* _PyCFrame.current_frame */
	unsigned fr_code, fr_previous, fr_prev_instr, fr_owner;
	unsigned co_filename, co_qualname, co_linetable, co_firstlineno, co_firsttraceable;
	unsigned co_code;           /* co_code_adaptive: the first code unit */
	unsigned ob_type, var_size, bytes_data;
	unsigned u_length, u_state, u_ascii_data, u_utf8_length, u_utf8, u_compact_data;
	int owner_generator;        /* FRAME_OWNED_BY_GENERATOR */
	unsigned ts_next, ts_native_id; /* PyThreadState.next, .native_thread_id */
};

/* CPython 3.11.x on x86_64 (identical in 3.11.2 and 3.11.7, the two measured here). */
#define PY311 56, 8, 32, 48, 56, 69, 112, 128, 136, 72, 168, 184, 8, 16, 32, \
	16, 32, 48, 48, 56, 72, 1, 8, 160

static const struct py_layout layouts[] = {
	{ "3.11.2", PY311 },  /* Debian 12's /usr/bin/python3.11 */
	{ "3.11.7", PY311 },  /* a pyenv build, tests/py/test_stacks_python.py */
};

static const struct py_layout *L;
static void *(*p_this_tstate)(void);
static void *(*p_main_interp)(void);
static void *(*p_thread_head)(void *);
static const void *code_type, *unicode_type, *bytes_type;
static int state;               /* 0 not yet, 1 on, -1 off */
static char status[64] = "off: not initialised";

static void set_status(const char *a, const char *b)
{
	size_t n = 0;

	for (; *a && n < sizeof(status) - 1; a++)
		status[n++] = *a;
	for (; b && *b && *b != ' ' && n < sizeof(status) - 1; b++)
		status[n++] = *b;
	status[n] = 0;
}

int fh_pystack_init(void)
{
	const char *(*getver)(void);
	const char *v;

	if (state)
		return state > 0 ? 0 : -ENOTSUP;
	state = -1;
	getver = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
	if (!getver) {
		set_status("off: not a Python process", NULL);
		return -ENOENT;
	}
	v = getver();
	for (size_t i = 0; v && i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		size_t n = strlen(layouts[i].version);
		if (!strncmp(v, layouts[i].version, n) && (v[n] == ' ' || v[n] == 0))
			L = &layouts[i];
	}
	if (!L) {
		set_status("off: unsupported Python ", v ? v : "?");
		return -ENOTSUP;
	}
	p_this_tstate = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
	unicode_type = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
	bytes_type = dlsym(RTLD_DEFAULT, "PyBytes_Type");
	p_main_interp = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyInterpreterState_Main");
	p_thread_head = (void *(*)(void *))dlsym(RTLD_DEFAULT, "PyInterpreterState_ThreadHead");
	if (!p_this_tstate || !code_type || !unicode_type || !bytes_type) {
		set_status("off: Python symbols missing", NULL);
		return -ENOENT;
	}
	set_status("on ", L->version);
	state = 1;
	return 0;
}

int fh_pystack_enabled(void)
{
	return state > 0;
}

const char *fh_pystack_status(void)
{
	return status;
}

/* ---- defensive reads ----
 *
 * Reading the calling thread's own frames (the usual case) copies memory directly: nothing
 * changes it meanwhile. Reading another thread's frames (a hang snapshot, fh_pystack_capture_tid)
 * goes through process_vm_readv on the own process instead, so memory freed or reused by the
 * running thread meanwhile reads as garbage or fails, and never faults. `remote` says which,
 * per capture (one capture at a time per thread). */

static __thread int remote;

static bool rd(void *dst, const void *src, size_t n)
{
	struct iovec l, r;

	if (!remote) {
		memcpy(dst, src, n);
		return true;
	}
	l.iov_base = dst;
	l.iov_len = n;
	r.iov_base = (void *)(uintptr_t)src;
	r.iov_len = n;
	if (syscall(SYS_process_vm_readv, syscall(SYS_getpid), &l, 1UL, &r, 1UL, 0UL) == (long)n)
		return true;
	memset(dst, 0, n);
	return false;
}

static const char *ptr_at(const void *base, unsigned off)
{
	const char *p;

	if (!rd(&p, (const char *)base + off, sizeof(p)))
		return NULL;
	if ((uintptr_t)p < 4096 || ((uintptr_t)p & 7))
		return NULL;
	return p;
}

static int32_t i32_at(const void *base, unsigned off)
{
	int32_t v;

	rd(&v, (const char *)base + off, sizeof(v));
	return v;
}

static int64_t i64_at(const void *base, unsigned off)
{
	int64_t v;

	rd(&v, (const char *)base + off, sizeof(v));
	return v;
}

static bool has_type(const char *obj, const void *type)
{
	return obj && (const void *)ptr_at(obj, L->ob_type) == type;
}

/* Copies a str object into dst (NUL-terminated). keep_tail: when too long, keep the end.
 * Returns true when it had to cut. Non-ASCII characters without a cached UTF-8 form become
 * '?'. */
/* Copies of another thread's strings and line tables: remote captures run one at a time (the
 * hang snapshot is single-flight), so plain static buffers, not per-thread ones. */
static char strbuf[4 * 256];

static bool copy_str(char *dst, size_t cap, const char *u, bool keep_tail)
{
	uint32_t st;
	int64_t len;
	const char *data;
	unsigned kind;
	size_t n, from = 0;
	bool utf8 = false;

	dst[0] = 0;
	if (!has_type(u, unicode_type))
		return false;
	len = i64_at(u, L->u_length);
	st = (uint32_t)i32_at(u, L->u_state);
	kind = (st >> 2) & 7;
	if (len < 0 || len > (1 << 20) || !(st & 0x20)) /* not compact: legacy, skip */
		return false;
	if (st & 0x40) {
		data = u + L->u_ascii_data;
		kind = 1;
	} else {
		const char *u8 = ptr_at(u, L->u_utf8);
		int64_t l8 = i64_at(u, L->u_utf8_length);
		if (u8 && l8 >= 0 && l8 <= (1 << 22)) {
			data = u8;
			len = l8;
			kind = 1;
			utf8 = true;
		} else {
			data = u + L->u_compact_data;
		}
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return false;
	n = (size_t)len;
	if (n > cap - 1) {
		if (keep_tail)
			from = n - (cap - 1);
		n = cap - 1;
	}
	if (remote) {   /* another thread's string: copied out first (at most 4 * cap bytes) */
		if (n * kind > sizeof(strbuf) || !rd(strbuf, data + from * kind, n * kind))
			return false;
		data = strbuf;
		from = 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c;
		if (kind == 1)
			c = (unsigned char)data[from + i];
		else if (kind == 2) {
			uint16_t c16;
			memcpy(&c16, data + 2 * (from + i), 2);
			c = c16;
		} else
			memcpy(&c, data + 4 * (from + i), 4);
		if (c == 0 || (c > 0x7f && !utf8))
			c = '?';
		dst[i] = (char)c;
	}
	dst[n] = 0;
	return n < (size_t)len;
}

static unsigned varint(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	unsigned v, shift = 0, b;

	if (p >= end)
		return 0;
	b = *p++;
	v = b & 63;
	while ((b & 64) && p < end && shift < 24) {
		b = *p++;
		shift += 6;
		v |= (b & 63) << shift;
	}
	*pp = p;
	return v;
}

static int svarint(const unsigned char **pp, const unsigned char *end)
{
	unsigned u = varint(pp, end);

	return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

static unsigned char ltbuf[16384];

/* Line of the instruction at code unit `unit`, from the 3.11 location table (the format of
 * Objects/locations.md): entries of (code, length in code units) with a line delta. */
static int addr2line(const char *code, int64_t unit)
{
	const char *lt = ptr_at(code, L->co_linetable);
	const unsigned char *p, *end;
	int64_t size, pos = 0;
	int line = i32_at(code, L->co_firstlineno);

	if (unit < 0)
		return line;
	if (!has_type(lt, bytes_type))
		return 0;
	size = i64_at(lt, L->var_size);
	if (size < 0 || size > (1 << 24))
		return 0;
	p = (const unsigned char *)lt + L->bytes_data;
	if (remote) {   /* another thread's code object: the table is copied out first */
		if (size > (int64_t)sizeof(ltbuf))
			size = sizeof(ltbuf);   /* lines past it read as unknown */
		if (!rd(ltbuf, p, (size_t)size))
			return 0;
		p = ltbuf;
	}
	end = p + size;
	while (p < end) {
		unsigned b = *p++, code_kind = (b >> 3) & 15, len = (b & 7) + 1;
		bool noloc = false;
		if (!(b & 0x80))
			return 0;
		switch (code_kind) {
		case 15:
			noloc = true;
			break;
		case 14:
			line += svarint(&p, end);
			varint(&p, end);
			varint(&p, end);
			varint(&p, end);
			break;
		case 13:
			line += svarint(&p, end);
			break;
		case 12: case 11: case 10:
			line += (int)code_kind - 10;
			p += 2;
			break;
		default:
			p += 1;
			break;
		}
		if (unit < pos + len)
			return noloc ? 0 : line;
		pos += len;
	}
	return 0;
}

static int walk(const char *ts, struct fh_pyframe *out, int max)
{
	const char *cf, *fr;
	int n = 0;

	if (!ts || ((uintptr_t)ts & 7))
		return 0;
	cf = ptr_at(ts, L->ts_cframe);
	if (!cf)
		return 0;
	fr = ptr_at(cf, L->cf_current);
	for (int walked = 0; fr && walked < MAX_WALK && n < max; walked++) {
		const char *code = ptr_at(fr, L->fr_code);
		uintptr_t instr, first;
		signed char owner;
		int64_t unit;
		struct fh_pyframe *f;

		rd(&owner, fr + L->fr_owner, 1);
		rd(&instr, fr + L->fr_prev_instr, sizeof(instr));
		if (!has_type(code, code_type))
			goto next;
		first = (uintptr_t)code + L->co_code;
		unit = ((intptr_t)instr - (intptr_t)first) / 2;
		if (owner != L->owner_generator && unit < i32_at(code, L->co_firsttraceable))
			goto next; /* incomplete frame: not started yet */
		f = &out[n++];
		f->flags = 0;
		f->line = addr2line(code, unit);
		if (copy_str(f->func, sizeof(f->func), ptr_at(code, L->co_qualname), false))
			f->flags |= FH_PYF_FUNC_CUT;
		if (copy_str(f->file, sizeof(f->file), ptr_at(code, L->co_filename), true))
			f->flags |= FH_PYF_FILE_CUT;
next:
		fr = ptr_at(fr, L->fr_previous);
	}
	return n;
}

int fh_pystack_capture(struct fh_pyframe *out, int max)
{
	if (state <= 0 || max <= 0)
		return 0;
	remote = 0;
	return walk((const char *)p_this_tstate(), out, max);
}

int fh_pystack_capture_tid(int tid, struct fh_pyframe *out, int max)
{
	const char *ts;
	int n = 0;

	if (state <= 0 || max <= 0 || !p_main_interp || !p_thread_head)
		return 0;
	remote = 1;
	ts = (const char *)p_thread_head(p_main_interp());
	for (int i = 0; ts && !((uintptr_t)ts & 7) && i < 4096; i++) {
		uint64_t id = (uint64_t)i64_at(ts, L->ts_native_id);
		if (id == (uint64_t)tid) {
			n = walk(ts, out, max);
			break;
		}
		ts = ptr_at(ts, L->ts_next);
	}
	remote = 0;
	return n;
}

int fh_pystack_code_site(uintptr_t code, uintptr_t instr, struct fh_pyframe *out)
{
	int64_t unit;

	if (state <= 0 || !code)
		return 0;
	remote = 1;
	out->flags = 0;
	out->line = 0;
	out->func[0] = out->file[0] = 0;
	if (!has_type((const char *)code, code_type)) {
		remote = 0;
		return 0;
	}
	unit = ((intptr_t)instr - (intptr_t)(code + L->co_code)) / 2;
	out->line = addr2line((const char *)code, unit);
	if (copy_str(out->func, sizeof(out->func), ptr_at((const char *)code, L->co_qualname), false))
		out->flags |= FH_PYF_FUNC_CUT;
	if (copy_str(out->file, sizeof(out->file), ptr_at((const char *)code, L->co_filename), true))
		out->flags |= FH_PYF_FILE_CUT;
	remote = 0;
	return 1;
}

bool fh_pystack_current_site(uintptr_t *code, uintptr_t *instr)
{
	const char *ts, *cf, *fr, *c;

	if (state <= 0)
		return false;
	ts = (const char *)p_this_tstate();
	if (!ts || ((uintptr_t)ts & 7))
		return false;
	memcpy(&cf, ts + L->ts_cframe, sizeof(cf));
	if (!cf || ((uintptr_t)cf & 7))
		return false;
	memcpy(&fr, cf + L->cf_current, sizeof(fr));
	if (!fr || ((uintptr_t)fr & 7))
		return false;
	memcpy(&c, fr + L->fr_code, sizeof(c));
	memcpy(instr, fr + L->fr_prev_instr, sizeof(*instr));
	*code = (uintptr_t)c;
	return true;
}
