/* SPDX-License-Identifier: MIT */
/*
 * Writes captured stacks into the thread's trace file as FHT_REC_STACK records (format in
 * fhtrace_format.h). Called from fh_end() at the exit of a wrapped call that lasted at least
 * the stack threshold (FH_STACK_MS, default FH_STACK_MS_DEFAULT) or returned EINTR; never in
 * signal context (the trampoline counts handler depth in fh_thr.in_handler), never in a vfork
 * child, never recursively.
 *
 * Why at exit: a slow call cannot be unwound while it blocks without a second thread or a
 * signal, both of which would change the program. The calling thread's native frames above the
 * wrapper and its Python frames do not change while it waits (the thread is inside the call),
 * so the stack read at exit is the stack of the call's start. Signal deliveries are covered the
 * same way: the trampoline only records the delivery; the wrapper of the interrupted call,
 * after the handler returned and the call came back (EINTR), captures and points every signal
 * record written during the call at the same stack. A delivery that interrupts no wrapped call
 * has no stack.
 *
 * The native stack starts with the libc entry point of the wrapped call (the wrapper itself
 * and this library's frames are left out), so it reads "blocked in recv, called from ...".
 *
 * Python strings are interned per thread stream: a PYSTR record holds "function\0file" once; a
 * small per-thread cache maps the string's hash to its slot and is checked against the record
 * itself before reuse, so a new stream (fork child, exec) never reuses a stale slot.
 */
#include <string.h>

#include "fhtrace_int.h"
#include "modmap.h"
#include "pystack.h"
#include "stacks.h"

#define PYC_SIZE 128

int64_t fh_stack_ns = INT64_MAX;

struct pyc_ent { uint64_t hash; uint32_t slot; };
/* Default TLS model (not initial-exec): only touched outside signal context, after the
 * in_handler check, so a lazily allocated TLS block is fine. */
static __thread struct pyc_ent pyc[PYC_SIZE];
static __thread int in_capture;

void fh_stacks_start(const char *dir)
{
	int64_t ns;

	ns = fh_stack_config();    /* libunwind itself is loaded at the first capture */
	fh_pystack_init();
	fh_modmap_start(dir);
	fh_stack_ns = ns < 0 ? INT64_MAX : ns;
}

/* The PYSTR text of a frame: "func\0file", with "..." before the tail of a cut path; its length. */
static size_t pystr_text(const struct fh_pyframe *f, char *text)
{
	size_t a = fh_strnlen(f->func, FH_PYFUNC_LEN - 1), b = fh_strnlen(f->file, FH_PYFILE_LEN - 1);
	size_t cut = (f->flags & FH_PYF_FILE_CUT) ? 3 : 0;

	memcpy(text, f->func, a);
	text[a] = 0;
	memcpy(text + a + 1, "...", cut);
	memcpy(text + a + 1 + cut, f->file, b);
	return a + 1 + cut + b;
}

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct fht_stack *fh_stack_reserve(struct fh_thr *t, uint64_t *idx, int kind, uint32_t owner)
{
	struct fht_stack *s = (struct fht_stack *)fh_reserve(t, idx);

	if (!s)
		return NULL;
	memset(&s->u, 0, sizeof(s->u));
	s->flags = 0;
	s->kind = (uint8_t)kind;
	s->n = 0;
	s->owner = owner;
	return s;
}

static void publish(struct fht_stack *s)
{
	__atomic_store_n(&s->type, FHT_REC_STACK, __ATOMIC_RELEASE);
}

uint64_t fh_pystr_hash(const struct fh_pyframe *f)
{
	char text[FH_PYFUNC_LEN + FH_PYFILE_LEN + 4];

	return fnv(text, pystr_text(f, text));
}

uint32_t fh_pystr_put(struct fh_thr *t, const struct fh_pyframe *f, uint32_t owner, uint64_t *hash)
{
	char text[FH_PYFUNC_LEN + FH_PYFILE_LEN + 4];
	size_t n = pystr_text(f, text);
	uint64_t idx;
	struct fht_stack *s;

	*hash = fnv(text, n);
	s = fh_stack_reserve(t, &idx, FHT_STK_PYSTR, owner);
	if (!s)
		return 0;
	s->u.hash = *hash;
	publish(s);
	fh_put_str(t, (struct fht_rec *)s, idx, text, n);
	return (uint32_t)idx;
}

/* Slot of the PYSTR record for this frame's strings, from the thread's cache or written now;
 * 0 when it could not be written. */
static uint32_t intern(struct fh_thr *t, const struct fh_pyframe *f, uint32_t owner)
{
	uint64_t h = fh_pystr_hash(f);
	struct pyc_ent *e = &pyc[h % PYC_SIZE];
	uint32_t slot;

	if (e->hash == h) {
		const struct fht_stack *old = (const struct fht_stack *)fh_rec_at(t, e->slot);
		if (old && old->type == FHT_REC_STACK && old->kind == FHT_STK_PYSTR && old->u.hash == h)
			return e->slot;
	}
	slot = fh_pystr_put(t, f, owner, &h);
	if (slot) {
		e->hash = h;
		e->slot = slot;
	}
	return slot;
}

/* Points every signal record written to this thread's file during the call (after the
 * call's own record) at the stack. */
static void link_signals(struct fh_thr *t, uint64_t call_idx, uint32_t ref)
{
	uint64_t end = __atomic_load_n(&t->reserved, __ATOMIC_RELAXED);

	for (uint64_t i = call_idx + 1; i < end && i < call_idx + 4096; i++) {
		struct fht_rec *r = fh_rec_at(t, i);
		if (r && r->type == FHT_REC_SIGNAL && !r->stack_ref)
			r->stack_ref = ref;
	}
}

void fh_stack_record(struct fh_call *c)
{
	struct fh_thr *t = c->t;
	struct fht_rec *r = c->rec;
	uint64_t pcs[FH_STACK_MAX];
	struct fh_pyframe py[FH_PYSTACK_MAX];
	int npcs, npy, saved = errno;
	uint32_t first;

	if (t->in_handler || in_capture || fh_raw_getpid() != fh_pid)
		return;
	if (r->stack_ref) { /* captured at entry: the signals that cut it share that stack */
		link_signals(t, c->idx, r->stack_ref);
		return;
	}
	if (r->err == EINTR && r->end_ns - r->start_ns < fh_stack_ns) {
		/* Interrupted but short: capture only if a signal was recorded during the call. */
		bool sig = false;
		uint64_t end = __atomic_load_n(&t->reserved, __ATOMIC_RELAXED);
		for (uint64_t i = c->idx + 1; i < end && i < c->idx + 256; i++) {
			const struct fht_rec *sr = fh_rec_at(t, i);
			if (sr && sr->type == FHT_REC_SIGNAL)
				sig = true;
		}
		if (!sig)
			return;
	}
	in_capture = 1;
	/* Frame 0: the libc function the thread was blocked in (entry + 1: looked up at pc - 1). */
	npcs = 0;
	if (r->call < FH_NCALLS && fh_real[r->call])
		pcs[npcs++] = (uint64_t)(uintptr_t)fh_real[r->call] + 1;
	/* Loading libunwind calls wrapped functions (its pipe2, dlopen's opens): not the
	 * program's calls, so not recorded. */
	t->busy_base = t->in_handler;
	t->busy = 1;
	npcs += fh_stack_capture(pcs + npcs, FH_STACK_MAX - npcs);
	npy = fh_pystack_capture(py, FH_PYSTACK_MAX);
	if (npcs > 0)
		fh_modmap_update();
	t->busy = 0;
	first = fh_stack_write(t, (uint32_t)c->idx, pcs, npcs, py, npy);
	if (first) {
		r->stack_ref = first;
		link_signals(t, c->idx, first);
	}
	in_capture = 0;
	errno = saved;
}

uint32_t fh_stack_write(struct fh_thr *t, uint32_t owner, const uint64_t *pcs, int npcs,
			const struct fh_pyframe *py, int npy)
{
	uint32_t strs[FH_PYSTACK_MAX];
	uint64_t first = 0, idx;
	struct fht_stack *s = NULL;
	bool have_first = false;

	if (npy > FH_PYSTACK_MAX)
		npy = FH_PYSTACK_MAX;
	for (int i = 0; i < npy; i++)
		strs[i] = intern(t, &py[i], owner);
	for (int i = 0; i < npcs + npy; i++) {
		int kind = i < npcs ? FHT_STK_NATIVE : FHT_STK_PY;
		if (kind == FHT_STK_PY && !strs[i - npcs])
			continue;
		if (!s || s->n == FHT_STK_PCS || s->kind != kind) {
			if (s)
				publish(s);
			s = fh_stack_reserve(t, &idx, kind, owner);
			if (!s)
				return 0;
			if (!have_first) {
				first = idx;
				have_first = true;
			}
		}
		if (kind == FHT_STK_NATIVE) {
			s->u.pcs[s->n++] = pcs[i];
		} else {
			s->u.py[s->n].line = py[i - npcs].line;
			s->u.py[s->n].str = strs[i - npcs];
			s->n++;
		}
	}
	if (!have_first)
		return 0;
	s->flags |= FHT_STK_F_LAST;
	publish(s);
	return (uint32_t)first;
}
