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
 * Reading the calling thread's own frames after a slow call (fh_pystack_capture) copies memory
 * directly: nothing changes it meanwhile. Everything else goes through process_vm_readv on the
 * own process, so memory freed or reused meanwhile reads as garbage or fails, and never
 * faults: another thread's frames (a hang snapshot), a saved code position, and the profiler's
 * sample, taken in a signal handler at whatever instruction the thread was at (a frame half
 * pushed, a code object just released). A reader context says which, and where copies go (the
 * callers' buffers: a signal handler must not share a static buffer with the code it
 * interrupted). */

struct rdx {
	bool remote;
	char *sbuf;                 /* remote: a string's characters are copied here first */
	size_t scap;
	unsigned char *lbuf;        /* remote: the line table is read through this window */
	size_t lcap;
};

static bool rd(const struct rdx *x, void *dst, const void *src, size_t n)
{
	struct iovec l, r;

	if (!x->remote) {
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

static const char *ptr_at(const struct rdx *x, const void *base, unsigned off)
{
	const char *p;

	if (!rd(x, &p, (const char *)base + off, sizeof(p)))
		return NULL;
	if ((uintptr_t)p < 4096 || ((uintptr_t)p & 7))
		return NULL;
	return p;
}

static int32_t i32_at(const struct rdx *x, const void *base, unsigned off)
{
	int32_t v;

	rd(x, &v, (const char *)base + off, sizeof(v));
	return v;
}

static int64_t i64_at(const struct rdx *x, const void *base, unsigned off)
{
	int64_t v;

	rd(x, &v, (const char *)base + off, sizeof(v));
	return v;
}

static bool has_type(const struct rdx *x, const char *obj, const void *type)
{
	return obj && (const void *)ptr_at(x, obj, L->ob_type) == type;
}

/* Copies a str object into dst (NUL-terminated). keep_tail: when too long, keep the end.
 * Returns true when it had to cut. Non-ASCII characters without a cached UTF-8 form become
 * '?'. Remote: at most x->scap bytes of characters are copied (a longer string is cut). */
static bool copy_str(const struct rdx *x, char *dst, size_t cap, const char *u, bool keep_tail)
{
	uint32_t st;
	int64_t len;
	const char *data;
	unsigned kind;
	size_t n, from = 0;
	bool utf8 = false;

	dst[0] = 0;
	if (!has_type(x, u, unicode_type))
		return false;
	len = i64_at(x, u, L->u_length);
	st = (uint32_t)i32_at(x, u, L->u_state);
	kind = (st >> 2) & 7;
	if (len < 0 || len > (1 << 20) || !(st & 0x20)) /* not compact: legacy, skip */
		return false;
	if (st & 0x40) {
		data = u + L->u_ascii_data;
		kind = 1;
	} else {
		const char *u8 = ptr_at(x, u, L->u_utf8);
		int64_t l8 = i64_at(x, u, L->u_utf8_length);
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
	if (x->remote && n > x->scap / kind)
		n = x->scap / kind;
	if (n > cap - 1)
		n = cap - 1;
	if (n < (size_t)len && keep_tail)
		from = (size_t)len - n;
	if (x->remote) {   /* copied out first */
		if (!rd(x, x->sbuf, data + from * kind, n * kind))
			return false;
		data = x->sbuf;
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

/* A byte source over a line table: the bytes themselves (local), or a window of x->lcap bytes
 * refilled through process_vm_readv (remote), so a table of any size is read in pieces. */
struct lsrc {
	const struct rdx *x;
	const unsigned char *p, *end;   /* local: the table; remote: the window */
	const unsigned char *next;      /* remote: where the window's next fill starts */
	int64_t left;                   /* remote: table bytes not yet in a window */
	bool bad;
};

static bool lget(struct lsrc *s, unsigned *b)
{
	if (s->p >= s->end) {
		size_t k;
		if (!s->x->remote || s->left <= 0 || s->bad)
			return false;
		k = (size_t)s->left < s->x->lcap ? (size_t)s->left : s->x->lcap;
		if (!rd(s->x, s->x->lbuf, s->next, k)) {
			s->bad = true;
			return false;
		}
		s->next += k;
		s->left -= (int64_t)k;
		s->p = s->x->lbuf;
		s->end = s->x->lbuf + k;
	}
	*b = *s->p++;
	return true;
}

static unsigned varint(struct lsrc *s)
{
	unsigned v, shift = 0, b;

	if (!lget(s, &b))
		return 0;
	v = b & 63;
	while ((b & 64) && shift < 24 && lget(s, &b)) {
		shift += 6;
		v |= (b & 63) << shift;
	}
	return v;
}

static int svarint(struct lsrc *s)
{
	unsigned u = varint(s);

	return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

/* Line of the instruction at code unit `unit`, from the 3.11 location table (the format of
 * Objects/locations.md): entries of (code, length in code units) with a line delta. */
static int addr2line(const struct rdx *x, const char *code, int64_t unit)
{
	const char *lt = ptr_at(x, code, L->co_linetable);
	struct lsrc s = { .x = x };
	int64_t size, pos = 0;
	int line = i32_at(x, code, L->co_firstlineno);
	unsigned b, skip;

	if (unit < 0)
		return line;
	if (!has_type(x, lt, bytes_type))
		return 0;
	size = i64_at(x, lt, L->var_size);
	if (size < 0 || size > (1 << 24))
		return 0;
	if (x->remote) {
		s.next = (const unsigned char *)lt + L->bytes_data;
		s.left = size;
		s.p = s.end = NULL;
	} else {
		s.p = (const unsigned char *)lt + L->bytes_data;
		s.end = s.p + size;
	}
	while (lget(&s, &b)) {
		unsigned code_kind = (b >> 3) & 15, len = (b & 7) + 1;
		bool noloc = false;
		if (!(b & 0x80))
			return 0;
		skip = 0;
		switch (code_kind) {
		case 15:
			noloc = true;
			break;
		case 14:
			line += svarint(&s);
			varint(&s);
			varint(&s);
			varint(&s);
			break;
		case 13:
			line += svarint(&s);
			break;
		case 12: case 11: case 10:
			line += (int)code_kind - 10;
			skip = 2;
			break;
		default:
			skip = 1;
			break;
		}
		while (skip-- && lget(&s, &b))
			;
		if (unit < pos + len)
			return noloc ? 0 : line;
		pos += len;
	}
	return 0;
}

static int walk(const struct rdx *x, const char *ts, struct fh_pyframe *out, int max)
{
	const char *cf, *fr;
	int n = 0;

	if (!ts || ((uintptr_t)ts & 7))
		return 0;
	cf = ptr_at(x, ts, L->ts_cframe);
	if (!cf)
		return 0;
	fr = ptr_at(x, cf, L->cf_current);
	for (int walked = 0; fr && walked < MAX_WALK && n < max; walked++) {
		const char *code = ptr_at(x, fr, L->fr_code);
		uintptr_t instr, first;
		signed char owner;
		int64_t unit;
		struct fh_pyframe *f;

		rd(x, &owner, fr + L->fr_owner, 1);
		rd(x, &instr, fr + L->fr_prev_instr, sizeof(instr));
		if (!has_type(x, code, code_type))
			goto next;
		first = (uintptr_t)code + L->co_code;
		unit = ((intptr_t)instr - (intptr_t)first) / 2;
		if (owner != L->owner_generator && unit < i32_at(x, code, L->co_firsttraceable))
			goto next; /* incomplete frame: not started yet */
		f = &out[n++];
		f->flags = 0;
		f->line = addr2line(x, code, unit);
		if (copy_str(x, f->func, sizeof(f->func), ptr_at(x, code, L->co_qualname), false))
			f->flags |= FH_PYF_FUNC_CUT;
		if (copy_str(x, f->file, sizeof(f->file), ptr_at(x, code, L->co_filename), true))
			f->flags |= FH_PYF_FILE_CUT;
next:
		fr = ptr_at(x, fr, L->fr_previous);
	}
	return n;
}

/* The remote captures of a hang snapshot run one at a time (it is single-flight): static
 * buffers serve them. */
static char snap_sbuf[4 * 256];
static unsigned char snap_lbuf[16384];
static const struct rdx local_rd = { .remote = false };
static const struct rdx snap_rd = { true, snap_sbuf, sizeof(snap_sbuf), snap_lbuf,
	sizeof(snap_lbuf) };

int fh_pystack_capture(struct fh_pyframe *out, int max)
{
	if (state <= 0 || max <= 0)
		return 0;
	return walk(&local_rd, (const char *)p_this_tstate(), out, max);
}

int fh_pystack_capture_tid(int tid, struct fh_pyframe *out, int max)
{
	const char *ts;
	int n = 0;

	if (state <= 0 || max <= 0 || !p_main_interp || !p_thread_head)
		return 0;
	ts = (const char *)p_thread_head(p_main_interp());
	for (int i = 0; ts && !((uintptr_t)ts & 7) && i < 4096; i++) {
		uint64_t id = (uint64_t)i64_at(&snap_rd, ts, L->ts_native_id);
		if (id == (uint64_t)tid) {
			n = walk(&snap_rd, ts, out, max);
			break;
		}
		ts = ptr_at(&snap_rd, ts, L->ts_next);
	}
	return n;
}

int fh_pystack_code_site(uintptr_t code, uintptr_t instr, struct fh_pyframe *out)
{
	int64_t unit;

	if (state <= 0 || !code)
		return 0;
	out->flags = 0;
	out->line = 0;
	out->func[0] = out->file[0] = 0;
	if (!has_type(&snap_rd, (const char *)code, code_type))
		return 0;
	unit = ((intptr_t)instr - (intptr_t)(code + L->co_code)) / 2;
	out->line = addr2line(&snap_rd, (const char *)code, unit);
	if (copy_str(&snap_rd, out->func, sizeof(out->func),
		     ptr_at(&snap_rd, (const char *)code, L->co_qualname), false))
		out->flags |= FH_PYF_FUNC_CUT;
	if (copy_str(&snap_rd, out->file, sizeof(out->file),
		     ptr_at(&snap_rd, (const char *)code, L->co_filename), true))
		out->flags |= FH_PYF_FILE_CUT;
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

/* ---- the profiler's sample (async-signal-safe) ----
 *
 * Two reads per frame: the frame's fields in one process_vm_readv, the code object's header
 * in another. Names and lines are decoded apart (fh_pystack_raw_*), and only on a miss of the
 * profiler's per-thread cache: a hot loop costs two small reads per frame per sample. */

/* Copies [lo, hi) of the object at base into buf (hi - lo <= cap); false when unreadable. */
static bool rd_span(const struct rdx *x, void *buf, size_t cap, const char *base, unsigned lo,
		    unsigned hi)
{
	if (hi <= lo || hi - lo > cap)
		return false;
	return rd(x, buf, base + lo, hi - lo);
}

static uintptr_t word_in(const unsigned char *buf, unsigned lo, unsigned off)
{
	uintptr_t v;

	memcpy(&v, buf + (off - lo), sizeof(v));
	return v;
}

static bool ok_ptr(uintptr_t p)
{
	return p >= 4096 && !(p & 7);
}

int fh_pystack_sample(struct fh_pyraw *out, int max)
{
	static const struct rdx sig_rd = { .remote = true };
	unsigned char fbuf[64], cbuf[256];
	unsigned flo, fhi, clo, chi;
	const char *ts, *fr;
	uintptr_t cf, p;
	int n = 0;

	if (state <= 0 || max <= 0)
		return 0;
	/* The spans of the frame and code fields the walk needs, from the layout. */
	flo = L->fr_code;
	if (L->fr_previous < flo) flo = L->fr_previous;
	if (L->fr_prev_instr < flo) flo = L->fr_prev_instr;
	if (L->fr_owner < flo) flo = L->fr_owner;
	fhi = L->fr_code;
	if (L->fr_previous > fhi) fhi = L->fr_previous;
	if (L->fr_prev_instr > fhi) fhi = L->fr_prev_instr;
	fhi += 8;
	if (L->fr_owner + 1 > fhi) fhi = L->fr_owner + 1;
	clo = L->ob_type;
	chi = L->co_code;
	ts = (const char *)p_this_tstate();
	if (!ts || ((uintptr_t)ts & 7))
		return 0;
	if (!rd(&sig_rd, &cf, ts + L->ts_cframe, sizeof(cf)) || !ok_ptr(cf))
		return 0;
	if (!rd(&sig_rd, &p, (const char *)cf + L->cf_current, sizeof(p)) || !ok_ptr(p))
		return 0;
	fr = (const char *)p;
	for (int walked = 0; fr && walked < MAX_WALK && n < max; walked++) {
		uintptr_t code, instr, prev;
		signed char owner;
		int64_t unit;
		int32_t firsttr;

		if (!rd_span(&sig_rd, fbuf, sizeof(fbuf), fr, flo, fhi))
			break;
		code = word_in(fbuf, flo, L->fr_code);
		instr = word_in(fbuf, flo, L->fr_prev_instr);
		prev = word_in(fbuf, flo, L->fr_previous);
		owner = (signed char)fbuf[L->fr_owner - flo];
		if (ok_ptr(code) && rd_span(&sig_rd, cbuf, sizeof(cbuf), (const char *)code, clo, chi) &&
		    (const void *)word_in(cbuf, clo, L->ob_type) == code_type) {
			memcpy(&firsttr, cbuf + (L->co_firsttraceable - clo), sizeof(firsttr));
			unit = ((intptr_t)instr - (intptr_t)(code + L->co_code)) / 2;
			if (owner == L->owner_generator || unit >= firsttr) {
				struct fh_pyraw *f = &out[n++];
				f->code = code;
				f->qualname = word_in(cbuf, clo, L->co_qualname);
				f->filename = word_in(cbuf, clo, L->co_filename);
				f->unit = unit > INT32_MAX ? INT32_MAX : unit < -1 ? -1 : (int32_t)unit;
				f->pad = 0;
			}
		}
		fr = ok_ptr(prev) ? (const char *)prev : NULL;
	}
	return n;
}

void fh_pystack_raw_names(const struct fh_pyraw *r, struct fh_pyframe *f, char *scratch,
			  size_t cap)
{
	struct rdx x = { true, scratch, cap, NULL, 0 };

	f->flags = 0;
	f->line = 0;
	f->func[0] = f->file[0] = 0;
	if (state <= 0)
		return;
	if (copy_str(&x, f->func, sizeof(f->func), (const char *)r->qualname, false))
		f->flags |= FH_PYF_FUNC_CUT;
	if (copy_str(&x, f->file, sizeof(f->file), (const char *)r->filename, true))
		f->flags |= FH_PYF_FILE_CUT;
}

int fh_pystack_raw_line(const struct fh_pyraw *r, unsigned char *scratch, size_t cap)
{
	struct rdx x = { true, NULL, 0, scratch, cap };

	if (state <= 0 || !cap)
		return 0;
	return addr2line(&x, (const char *)r->code, r->unit);
}
