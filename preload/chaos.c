/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode: perturbing the program under test the way a loaded machine could, under a seeded
 * plan, and recording every perturbation in the trace (preload/chaos.h says what and why).
 *
 * What is perturbed: wrapped blocking calls of the classes in fhtrace_format.h (sockets, polls,
 * lock and thread waits, sleeps, child waits, process creation, pipes, name resolution, opens
 * that create files) get a delay before or after the real call; lock releases and thread
 * starts get a sched_yield. A delay is a plain sleep of the calling thread: the call then
 * happens later, or its caller learns of its result later, as after a preemption; the call's
 * arguments, result, errno and data are never touched. Calls of the library itself, of the
 * plugin's quiet threads, in signal handlers, in a vfork child, and of threads that existed
 * before the first plan (the tool's: xdist's channel threads) are never perturbed.
 *
 * A plan's targets name calls (and who makes them, and where) to hold up more often than the
 * spread does; a one-shot target (#N) holds up only the N-th thread of the process to reach
 * one, once at each: a thread preempted at a few points while its siblings go on.
 *
 * Bounds (realism): one delay is at most FH_CHAOS_MAX_NS; all delays of a process under one
 * plan add up to at most the plan's budget (b=, default FH_CHAOS_BUDGET_NS); nothing is
 * injected after the plan's deadline (x=, the plugin sets it from the attempt's time limit).
 *
 * The plan's site table (tab=, docs/FORMATS.md "The chaos site table") is a small shared file
 * the plugin creates: every process under the plan counts there, per (call, role, target), the
 * calls it made, how long they took, which ran out and what was injected, so the plugin can
 * guide the next attempts from the evidence of this one without reading traces.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include "chaos.h"

#define FH_CHAOS_MAX_NS (50LL * 1000000)     /* one delay: a long scheduling stall */
#define FH_CHAOS_BUDGET_NS (50LL * 1000000)  /* default budget per process and plan */
#define FH_CHAOS_MAX_TARGETS 8
#define FH_CHAOS_TEXT 1024                   /* longest plan text */
#define FH_CHAOS_MAX_YIELDS 256              /* yields per thread and plan */
#define FH_CHAOS_FOREIGN 64
#define FHC_SITE_TGT 48u                      /* target text a site keeps (with its NUL) */

volatile int fh_chaos_on;

enum { ROLE_MAIN = 0, ROLE_THREAD = 1, ROLE_PROC = 2, ROLE_ANY = 3 };
enum { AT_BEFORE = 1, AT_AFTER = 2, AT_EITHER = 3 };
#define CLS_FDIO 0x8000u     /* decided per call from the fd's kind */
#define ANY_CALL 0xffffu

struct chaos_target {
	unsigned call;            /* calls.def id, or ANY_CALL */
	int role;
	int where;
	unsigned permille;
	uint32_t nth;             /* 0: each call drawn; N: one-shot, the N-th thread's first call */
	int64_t lo_ns, hi_ns;
	uint32_t thash;
	size_t tlen;              /* 0: any target */
	char tgt[FHC_SITE_TGT];
};

struct chaos_plan {
	uint32_t gen;
	uint64_t seed;
	unsigned p_spread, p_yield;   /* per mille */
	int64_t lo_ns, hi_ns;
	int64_t budget_ns;
	int64_t deadline_ns;          /* 0: none */
	unsigned classes;
	int ntargets;
	struct chaos_target t[FH_CHAOS_MAX_TARGETS];
	char tab[512];
	char text[FH_CHAOS_TEXT];
	size_t tlen;
};

/* Plans are published by pointer; a thread reading the previous one for the duration of one
 * call still finds it intact (four slots: a plan is replaced once per attempt). */
static struct chaos_plan plans[4];
/* Per plan slot, the threads of this process that reached a one-shot target (t=...,#N,...):
 * the N-th of them is the one the plan slows down. */
static uint32_t shot_threads[4];
static unsigned plan_next;
static struct chaos_plan *volatile cur_plan;

static uint64_t pkey;                 /* this process: 0 for the one that set plans through the
				       * API, else a hash of its command line (and fork count) */
static unsigned fork_count;
static int test_tid;                  /* the thread that set the plan (the test's), 0 none */
static int foreign[FH_CHAOS_FOREIGN]; /* threads that existed before the first plan */
static int nforeign;
static bool foreign_scanned;
static uint32_t next_ordinal;
static int64_t proc_inj_ns;           /* injected under the current plan in this process */
static uint32_t plan_recorded;        /* gen whose PLAN record this process wrote (+1) */
static uint16_t call_cls[FH_NCALLS];
static uint8_t call_at[FH_NCALLS];

struct chaos_thr {
	uint32_t gen;             /* the plan these counters belong to (+1; 0: never synced) */
	unsigned fgen;            /* fh_fork_gen then */
	uint32_t ordinal;
	int role;
	bool foreign;
	uint32_t yields;
	uint32_t krel;            /* lock releases seen */
	uint32_t last_hash;       /* the last socket target this thread used (for polls) */
	uint32_t shot_rank;       /* its rank among the threads at one-shot targets, 0 none yet */
	uint32_t shot_fired;      /* the one-shot targets (bit i) that held it up */
	char last_tgt[FHC_SITE_TGT];
	uint32_t k[FH_NCALLS];    /* calls of each id made under the plan */
};
static __thread struct chaos_thr ch __attribute__((tls_model("initial-exec")));

/* ---- the site table (shared with the plugin: docs/FORMATS.md) ---- */

#define FHC_TAB_MAGIC "FHCSITE1"
#define FHC_TAB_SLOTS 1024u
#define FHC_PROBE 64u

struct fhc_tab_head {
	char magic[8];
	uint32_t gen;             /* the plan generation the sites belong to */
	uint32_t nslots;
	uint64_t injected;        /* perturbations injected, every process */
	uint64_t injected_ns;     /* their total time */
	uint64_t seq;             /* calls recorded (orders last_seq) */
	uint32_t full;            /* calls that found no free slot */
	uint32_t procs;
	uint64_t max_delay_ns;
	char pad[72];
};

struct fhc_site {
	uint32_t state;           /* 0 free, 1 being claimed, 2 in use */
	uint16_t call;
	uint8_t role;
	uint8_t tlen;
	uint32_t thash;
	uint32_t count;
	uint32_t ran_out;
	uint32_t injected;
	uint32_t cls;             /* FHT_CHAOS_C_* */
	uint32_t threads;         /* a bit per thread that called here (hashed to 32 bits) */
	uint64_t wait_ns;
	uint64_t max_ns;
	int64_t max_tmo_ns;
	uint64_t last_seq;
	uint64_t injected_ns;
	uint64_t max_inj_ns;
	char tgt[FHC_SITE_TGT];
};
_Static_assert(sizeof(struct fhc_tab_head) == 128, "site table head");
_Static_assert(sizeof(struct fhc_site) == 128, "site table entry");

static struct fhc_tab_head *tab;
static char tab_path[512];
static int tab_busy;
static uint32_t tab_failed_gen;       /* gen (+1) whose table could not be mapped */

/* ---- small helpers ---- */

static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t fnv32(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * A target as plans and the site table name it: the same endpoint in every attempt. A port of
 * the ephemeral range (the kernel's default starts at 32768: a server bound to port 0, a
 * client's own port) becomes '*'; in a path, or a name like "pipe:[123]", every run of digits
 * becomes '#' (pytest's tmp_path numbers its directories per session and test). A text longer
 * than FHC_SITE_TGT - 1 keeps its end when it is a path (the file's name tells more than the
 * temporary directory), its start otherwise. Normalizing a normalized text changes nothing.
 * Returns the length; out holds at least FHC_SITE_TGT bytes.
 */
static size_t norm_target(const char *in, char *out)
{
	char full[256];
	size_t n = 0;
	out[0] = 0;
	if (!in)
		return 0;
	bool path = in[0] == '/' || in[0] == '.' || strstr(in, ":[") != NULL;
	if (path) {
		bool dig = false;
		for (; *in && n + 1 < sizeof(full); in++) {
			bool d = *in >= '0' && *in <= '9';
			if (d && !dig)
				full[n++] = '#';
			else if (!d)
				full[n++] = *in;
			dig = d;
		}
		full[n] = 0;
	} else {
		n = fh_strlcpy(full, sizeof(full), in);
		char *colon = strrchr(full, ':');
		if (colon && colon[1]) {
			long port = 0;
			char *q = colon + 1;
			for (; *q >= '0' && *q <= '9' && port < 100000; q++)
				port = port * 10 + (*q - '0');
			if (!*q && port >= 32768 && port < 65536) {
				colon[1] = '*';
				colon[2] = 0;
				n = (size_t)(colon + 2 - full);
			}
		}
	}
	if (n >= FHC_SITE_TGT) {
		const char *from = path ? full + n - (FHC_SITE_TGT - 1) : full;
		n = FHC_SITE_TGT - 1;
		memmove(out, from, n);
		out[n] = 0;
		return n;
	}
	memcpy(out, full, n + 1);
	return n;
}

/* ---- classes ---- */

static void classes_init(void)
{
	for (unsigned id = 0; id < FH_NCALLS; id++) {
		const struct fht_call_info *ci = &fht_calls[id];
		unsigned cls = 0, at = AT_EITHER;
		switch (ci->category) {
		case FHT_CAT_NET:
			if ((ci->flags & FHF_NETIO) && !(ci->flags & FHF_SOERR))
				cls = FHT_CHAOS_C_NET;
			if (id == FH_ID_accept || id == FH_ID_accept4)
				cls = FHT_CHAOS_C_NET;
			break;
		case FHT_CAT_DNS:
			cls = FHT_CHAOS_C_DNS;
			break;
		case FHT_CAT_SLEEP:
			cls = FHT_CHAOS_C_SLEEP;
			break;
		case FHT_CAT_LOCK:
			if (id == FH_ID_pthread_cond_wait || id == FH_ID_pthread_cond_timedwait ||
			    id == FH_ID_pthread_cond_clockwait)
				cls = FHT_CHAOS_C_COND;
			else if (ci->flags & FHF_LOCK)
				cls = FHT_CHAOS_C_LOCK;
			break;
		case FHT_CAT_POLL:
			cls = FHT_CHAOS_C_POLL;
			break;
		case FHT_CAT_PROC:
			if (ci->flags & FHF_WAIT) {
				cls = FHT_CHAOS_C_PROC;
			} else if (id == FH_ID_pthread_create) {
				cls = FHT_CHAOS_C_START;
				at = AT_AFTER;
			} else if ((ci->flags & (FHF_SPAWN | FHF_EXEC)) && id != FH_ID_clone) {
				cls = FHT_CHAOS_C_PROC;
				at = AT_BEFORE;
			}
			break;
		case FHT_CAT_FDIO:
			if (id != FH_ID_sendfile && id != FH_ID_sendfile64)
				cls = CLS_FDIO;
			break;
		case FHT_CAT_FILE:
			/* opens with O_CREAT reach the chaos path from wrap_custom.c only */
			if (id == FH_ID_creat || id == FH_ID_open || id == FH_ID_open64 ||
			    id == FH_ID_openat || id == FH_ID_openat64)
				cls = FHT_CHAOS_C_FILE;
			break;
		default:
			break;
		}
		call_cls[id] = (uint16_t)cls;
		call_at[id] = (uint8_t)at;
	}
}

static unsigned class_of(unsigned id, int fd)
{
	unsigned cls = id < FH_NCALLS ? call_cls[id] : 0;
	if (cls != CLS_FDIO)
		return cls;
	int kind = fd >= 0 && fd < 65536 ? fh_fdkind[fd] : FHT_FD_UNKNOWN;
	if (kind == FHT_FD_SOCKET)
		return FHT_CHAOS_C_NET;
	if (kind == FHT_FD_OTHER)
		return FHT_CHAOS_C_PIPE;
	if (kind == FHT_FD_UNKNOWN && fd >= 0) {
		/* an fd this process inherited (a pipe passed to a child): ask the kernel */
		struct stat st;
		if (syscall(SYS_fstat, fd, &st) == 0) {
			if (S_ISSOCK(st.st_mode))
				return FHT_CHAOS_C_NET;
			if (S_ISFIFO(st.st_mode))
				return FHT_CHAOS_C_PIPE;
		}
	}
	return 0;
}

/* ---- plans ---- */

static const char class_letters[] = "nplvswfidt";   /* bit i of FHT_CHAOS_C_* */

static bool parse_u64(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return true;
}

/* "LO-HI" in microseconds, 1 <= LO <= HI, both within FH_CHAOS_MAX_NS. */
static bool parse_range(const char *s, size_t n, int64_t *lo, int64_t *hi)
{
	const char *dash = memchr(s, '-', n);
	uint64_t a, b;
	if (!dash || !parse_u64(s, (size_t)(dash - s), 10, &a) ||
	    !parse_u64(dash + 1, n - (size_t)(dash + 1 - s), 10, &b))
		return false;
	if (a < 1 || a > b || b * 1000 > (uint64_t)FH_CHAOS_MAX_NS)
		return false;
	*lo = (int64_t)a * 1000;
	*hi = (int64_t)b * 1000;
	return true;
}

static bool parse_classes(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = memchr(class_letters, s[i], sizeof(class_letters) - 1);
		if (!p)
			return false;
		v |= 1u << (p - class_letters);
	}
	*out = v;
	return true;
}

static unsigned call_by_name(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return ANY_CALL;
	for (unsigned id = 0; id < FH_NCALLS; id++)
		if (strlen(fht_calls[id].name) == n && !memcmp(fht_calls[id].name, s, n))
			return id;
	return FH_NO_CALL;
}

/* Undoes the plugin's %XX escapes of ';' and '%' in a target. */
static size_t unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		uint64_t v;
		if (s[i] == '%' && i + 2 < n && parse_u64(s + i + 1, 2, 16, &v)) {
			out[o++] = (char)v;
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
	return o;
}

/* t=CALL,ROLE,WHERE,PERMILLE,LO-HI[,TARGET] */
static bool parse_target(const char *s, size_t n, struct chaos_target *t)
{
	const char *f[6];
	size_t fl[6];
	int nf = 0;
	const char *p = s, *end = s + n;
	while (nf < 6) {
		const char *c = nf < 5 ? memchr(p, ',', (size_t)(end - p)) : NULL;
		f[nf] = p;
		fl[nf] = (size_t)((c ? c : end) - p);
		nf++;
		if (!c)
			break;
		p = c + 1;
	}
	uint64_t pm;
	if (nf < 5)
		return false;
	memset(t, 0, sizeof(*t));
	if (fl[3] > 1 && f[3][0] == '#') {
		/* one-shot: the N-th call of the process at this point, so WHERE is one point */
		if (!parse_u64(f[3] + 1, fl[3] - 1, 10, &pm) || pm < 1 || pm > 1000000 ||
		    fl[2] != 1 || (f[2][0] != 'b' && f[2][0] != 'a'))
			return false;
		t->nth = (uint32_t)pm;
		f[3] = "1000";
		fl[3] = 4;
	}
	if ((t->call = call_by_name(f[0], fl[0])) == FH_NO_CALL)
		return false;
	if (fl[1] != 1 || fl[2] != 1)
		return false;
	switch (f[1][0]) {
	case 'a': t->role = ROLE_ANY; break;
	case 'm': t->role = ROLE_MAIN; break;
	case 't': t->role = ROLE_THREAD; break;
	case 'p': t->role = ROLE_PROC; break;
	default: return false;
	}
	switch (f[2][0]) {
	case 'b': t->where = AT_BEFORE; break;
	case 'a': t->where = AT_AFTER; break;
	case 'e': t->where = AT_EITHER; break;
	default: return false;
	}
	if (!parse_u64(f[3], fl[3], 10, &pm) || pm > 1000)
		return false;
	t->permille = (unsigned)pm;
	if (!parse_range(f[4], fl[4], &t->lo_ns, &t->hi_ns))
		return false;
	if (nf == 6 && fl[5]) {
		char raw[256];
		unescape(f[5], fl[5], raw, sizeof(raw));
		t->tlen = norm_target(raw, t->tgt);
		t->thash = fnv32(t->tgt, t->tlen);
	}
	return true;
}

/* Parses plan text into p: 0, or -EINVAL (nothing of p is to be used then). */
static int parse_plan(const char *text, struct chaos_plan *p)
{
	size_t n = fh_strnlen(text, FH_CHAOS_TEXT);
	if (n >= FH_CHAOS_TEXT || n < 8 || memcmp(text, "fhchaos1", 8) || (n > 8 && text[8] != ';'))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->budget_ns = FH_CHAOS_BUDGET_NS;
	p->lo_ns = 20000;
	p->hi_ns = 20000000;
	p->classes = FHT_CHAOS_C_NET | FHT_CHAOS_C_POLL | FHT_CHAOS_C_LOCK | FHT_CHAOS_C_SLEEP |
		FHT_CHAOS_C_PROC | FHT_CHAOS_C_FILE | FHT_CHAOS_C_PIPE | FHT_CHAOS_C_DNS;
	memcpy(p->text, text, n);
	p->text[n] = 0;
	p->tlen = n;
	const char *s = text + 8, *end = text + n;
	while (s < end) {
		if (*s == ';') {
			s++;
			continue;
		}
		const char *semi = memchr(s, ';', (size_t)(end - s));
		const char *e = semi ? semi : end;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (!eq)
			return -EINVAL;
		size_t kl = (size_t)(eq - s), vl = (size_t)(e - eq - 1);
		const char *v = eq + 1;
		uint64_t u;
		bool ok = true;
#define KEY(k) (kl == sizeof(k) - 1 && !memcmp(s, k, kl))
		if (KEY("s"))
			ok = parse_u64(v, vl, 16, &p->seed);
		else if (KEY("g"))
			ok = parse_u64(v, vl, 10, &u) && u < UINT32_MAX && ((p->gen = (uint32_t)u), 1);
		else if (KEY("p"))
			ok = parse_u64(v, vl, 10, &u) && u <= 1000 && ((p->p_spread = (unsigned)u), 1);
		else if (KEY("y"))
			ok = parse_u64(v, vl, 10, &u) && u <= 1000 && ((p->p_yield = (unsigned)u), 1);
		else if (KEY("d"))
			ok = parse_range(v, vl, &p->lo_ns, &p->hi_ns);
		else if (KEY("c"))
			ok = parse_classes(v, vl, &p->classes);
		else if (KEY("b"))
			ok = parse_u64(v, vl, 10, &u) && u <= 3600000000ULL &&
				((p->budget_ns = (int64_t)u * 1000), 1);
		else if (KEY("x"))
			ok = parse_u64(v, vl, 10, &u) && u < (uint64_t)INT64_MAX &&
				((p->deadline_ns = (int64_t)u), 1);
		else if (KEY("tab"))
			ok = vl < sizeof(p->tab) && v[0] == '/' &&
				((memcpy(p->tab, v, vl), p->tab[vl] = 0), 1);
		else if (KEY("t"))
			ok = p->ntargets < FH_CHAOS_MAX_TARGETS &&
				parse_target(v, vl, &p->t[p->ntargets++]);
		/* other keys: a newer plugin's; ignored */
#undef KEY
		if (!ok)
			return -EINVAL;
		s = e;
	}
	return 0;
}

/* ---- per-thread state ---- */

static bool is_foreign(int tid)
{
	for (int i = 0; i < nforeign; i++)
		if (foreign[i] == tid)
			return true;
	return false;
}

static void scan_foreign(int self)
{
	char buf[2048];
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	nforeign = 0;
	if (fd < 0)
		return;
	for (;;) {
		long k = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (long o = 0; o < k;) {
			struct dirent64 *d = (struct dirent64 *)(buf + o);
			long tid = 0;
			for (const char *q = d->d_name; *q >= '0' && *q <= '9' && tid < 1 << 30; q++)
				tid = tid * 10 + (*q - '0');
			if (tid > 0 && tid != self && nforeign < FH_CHAOS_FOREIGN)
				foreign[nforeign++] = (int)tid;
			o += d->d_reclen;
		}
	}
	syscall(SYS_close, fd);
}

static inline struct chaos_thr *thr_sync(const struct chaos_plan *p, const struct fh_thr *t)
{
	struct chaos_thr *h = &ch;
	if (FH_LIKELY(h->gen == p->gen + 1 && h->fgen == fh_fork_gen))
		return h;
	memset(h->k, 0, sizeof(h->k));
	h->gen = p->gen + 1;
	h->fgen = fh_fork_gen;
	h->yields = 0;
	h->krel = 0;
	h->shot_rank = 0;
	h->shot_fired = 0;
	h->last_tgt[0] = 0;
	h->last_hash = 0;
	h->foreign = pkey == 0 && is_foreign(t->tid);
	if (pkey == 0 && t->tid == test_tid) {
		h->role = ROLE_MAIN;
		h->ordinal = 0;
	} else {
		h->role = pkey == 0 ? ROLE_THREAD : ROLE_PROC;
		h->ordinal = __atomic_add_fetch(&next_ordinal, 1, __ATOMIC_RELAXED);
	}
	return h;
}

/* The plan, the thread's record state and its chaos state, when this call may be perturbed. */
static const struct chaos_plan *usable(struct fh_thr *t, struct chaos_thr **hp)
{
	const struct chaos_plan *p = __atomic_load_n(&cur_plan, __ATOMIC_ACQUIRE);
	if (!p || !t || t->in_handler || t->busy)
		return NULL;
	if (fh_raw_getpid() != fh_pid)
		return NULL;        /* a vfork child: the parent's memory */
	struct chaos_thr *h = thr_sync(p, t);
	if (h->foreign)
		return NULL;
	*hp = h;
	return p;
}

/* ---- the site table ---- */

static struct fhc_tab_head *tab_get(const struct chaos_plan *p)
{
	struct fhc_tab_head *h = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
	if (!p->tab[0])
		return NULL;
	if (h && !strcmp(tab_path, p->tab))
		return __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE) == p->gen ? h : NULL;
	if (__atomic_load_n(&tab_failed_gen, __ATOMIC_RELAXED) == p->gen + 1)
		return NULL;
	if (__atomic_exchange_n(&tab_busy, 1, __ATOMIC_ACQ_REL))
		return NULL;
	unsigned reason = 0;
	size_t size = sizeof(struct fhc_tab_head) + FHC_TAB_SLOTS * sizeof(struct fhc_site);
	struct stat st;
	void *m = MAP_FAILED;
	long fd = fh_open_own(p->tab, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0, &reason);
	if (fd >= 0) {
		if (syscall(SYS_fstat, fd, &st) == 0 && st.st_size >= (off_t)size)
			m = (void *)syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
					    fd, 0L);
		syscall(SYS_close, fd);
	}
	if (m == MAP_FAILED || (uintptr_t)m > (uintptr_t)-4096 ||
	    memcmp(((struct fhc_tab_head *)m)->magic, FHC_TAB_MAGIC, 8) ||
	    ((struct fhc_tab_head *)m)->nslots != FHC_TAB_SLOTS) {
		if (m != MAP_FAILED && (uintptr_t)m <= (uintptr_t)-4096)
			syscall(SYS_munmap, m, size);
		__atomic_store_n(&tab_failed_gen, p->gen + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&tab_busy, 0, __ATOMIC_RELEASE);
		return NULL;
	}
	/* An older plan's table stays mapped: a thread may still be counting in it. */
	fh_strlcpy(tab_path, sizeof(tab_path), p->tab);
	__atomic_store_n(&tab, (struct fhc_tab_head *)m, __ATOMIC_RELEASE);
	__atomic_store_n(&tab_busy, 0, __ATOMIC_RELEASE);
	h = m;
	return __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE) == p->gen ? h : NULL;
}

static struct fhc_site *site_of(struct fhc_tab_head *h, unsigned id, int role, uint32_t thash,
				const char *tgt, size_t tlen, unsigned cls)
{
	struct fhc_site *sites = (struct fhc_site *)(h + 1);
	uint64_t key = ((uint64_t)id << 40) ^ ((uint64_t)role << 32) ^ thash;
	unsigned at = (unsigned)(mix64(key) % FHC_TAB_SLOTS);
	for (unsigned i = 0; i < FHC_PROBE; i++) {
		struct fhc_site *s = &sites[(at + i) % FHC_TAB_SLOTS];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (st == 0) {
			if (!__atomic_compare_exchange_n(&s->state, &st, 1, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				goto taken;
			s->call = (uint16_t)id;
			s->role = (uint8_t)role;
			s->thash = thash;
			s->tlen = (uint8_t)(tlen < FHC_SITE_TGT ? tlen : FHC_SITE_TGT - 1);
			memcpy(s->tgt, tgt, s->tlen);
			s->cls = cls;
			s->max_tmo_ns = -1;
			__atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
			return s;
		}
taken:
		if (st == 1)
			continue;   /* being claimed by another thread: not this one's to wait for */
		if (s->call == id && s->role == role && s->thash == thash)
			return s;
	}
	__atomic_fetch_add(&h->full, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void max_u64(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED))
		;
}

/* ---- targets of calls ---- */

/* The call's target, normalized into buf (FHC_SITE_TGT bytes; may be ""), the same before and
 * after the call: the one the wrapper gave, the local address an accept listens on, the
 * string the call recorded at entry (not one resolved at exit: only slow calls get that), the
 * peer of a socket, or for a poll the socket the thread used last. */
static size_t call_target(struct fh_call *c, unsigned id, unsigned cls, const char *given,
			  struct chaos_thr *h, char *buf)
{
	char raw[160];
	const char *s = given;
	int fd = c->rec->fd;
	uint8_t fl = __atomic_load_n(&c->rec->flags, __ATOMIC_RELAXED);
	buf[0] = 0;
	if (!s && (id == FH_ID_accept || id == FH_ID_accept4) && fd >= 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (syscall(SYS_getsockname, fd, &ss, &sl) == 0 &&
		    fh_fmt_sockaddr(raw, sizeof(raw), (struct sockaddr *)&ss, sl))
			s = raw;
	} else if (!s && (fl & FHT_F_STR) && !(fl & FHT_F_RESOLVED)) {
		const struct fht_str *str = (const struct fht_str *)fh_rec_at(c->t, c->idx + 1);
		if (str && str->type == FHT_REC_STR && str->owner == (uint32_t)c->idx) {
			size_t k = str->len < sizeof(raw) - 1 ? str->len : sizeof(raw) - 1;
			memcpy(raw, str->data, k);
			raw[k] = 0;
			s = raw;
		}
	}
	if (!s && fd >= 0 && fd < 65536 && fh_fdkind[fd] == FHT_FD_SOCKET) {
		const char *ft = fh_fd_target(fd);
		if (ft[0])
			s = ft;
	}
	if (!s && cls == FHT_CHAOS_C_POLL && h->last_tgt[0])
		return fh_strlcpy(buf, FHC_SITE_TGT, h->last_tgt);
	size_t n = s ? norm_target(s, buf) : 0;
	if (n && cls == FHT_CHAOS_C_NET) {
		fh_strlcpy(h->last_tgt, sizeof(h->last_tgt), buf);
		h->last_hash = fnv32(buf, n);
	}
	return n;
}

/* ---- decisions ---- */

static inline uint64_t draw(const struct chaos_plan *p, const struct chaos_thr *h, unsigned id,
			    uint32_t k, unsigned salt)
{
	return mix64(p->seed ^ mix64(pkey ^ mix64(((uint64_t)h->ordinal << 32) | id)) ^
		     mix64(((uint64_t)k << 16) | salt));
}

/* A delay in [lo, hi], log-uniform by doubling buckets (no libm in the preload). */
static int64_t pick(int64_t lo, int64_t hi, uint64_t r)
{
	if (lo < 1000)
		lo = 1000;
	if (hi <= lo)
		return lo;
	unsigned nb = 0;
	for (int64_t v = lo; v < hi && nb < 40; v <<= 1)
		nb++;
	unsigned b = (unsigned)(r % nb);
	r /= nb;
	int64_t a = lo << b, z = a << 1;
	if (z > hi)
		z = hi;
	return a + (int64_t)(r % (uint64_t)(z - a + 1));
}

/* Whether to hold the call up at point `at`: the delay and where it came from (target index
 * + 1, or 0 for the spread). The first target that names this call decides. */
static bool decide(const struct chaos_plan *p, struct chaos_thr *h, unsigned id,
		   unsigned cls, int at, const char *tgt, size_t tlen, uint32_t thash, uint32_t k,
		   int64_t *delay, int *src)
{
	for (int i = 0; i < p->ntargets; i++) {
		const struct chaos_target *t = &p->t[i];
		if (t->call != id && t->call != ANY_CALL)
			continue;
		if (t->call == ANY_CALL && !cls)
			continue;
		if (t->role != ROLE_ANY && t->role != h->role)
			continue;
		if (!(t->where & at))
			continue;
		if (t->tlen && (t->thash != thash || t->tlen != tlen || memcmp(t->tgt, tgt, tlen)))
			continue;
		uint64_t r = draw(p, h, id, k, (unsigned)(at << 8) | (unsigned)(i + 1));
		if (t->nth) {
			if (!h->shot_rank)
				h->shot_rank = __atomic_add_fetch(&shot_threads[(p - plans) & 3], 1,
								  __ATOMIC_RELAXED);
			if (h->shot_rank != t->nth || (h->shot_fired & (1u << i)))
				return false;
			h->shot_fired |= 1u << i;
		} else if (r % 1000 >= t->permille) {
			return false;
		}
		*delay = pick(t->lo_ns, t->hi_ns, r / 1000);
		*src = i + 1;
		return true;
	}
	if (!(p->classes & cls) || !p->p_spread || cls == FHT_CHAOS_C_START)
		return false;
	uint64_t r = draw(p, h, id, k, (unsigned)(at << 8));
	if (r % 1000 >= p->p_spread)
		return false;
	*delay = pick(p->lo_ns, p->hi_ns, r / 1000);
	*src = 0;
	return true;
}

/* ---- recording and injecting ---- */

static void record_plan(struct fh_thr *t, const struct chaos_plan *p)
{
	uint64_t idx;
	struct fht_rec *r = fh_reserve(t, &idx);
	if (!r)
		return;
	r->call = FH_NO_CALL;
	r->fd = FHT_CHAOS_PLAN;
	r->start_ns = fh_now_t(t);
	r->end_ns = r->start_ns;
	r->arg = (int64_t)p->seed;
	r->arg2 = p->gen;
	r->timeout_ns = 0;
	r->flags = FHT_F_DONE;
	__atomic_store_n(&r->type, FHT_REC_CHAOS, __ATOMIC_RELEASE);
	fh_put_str(t, r, idx, p->text, p->tlen);
	__atomic_store_n(&plan_recorded, p->gen + 1, __ATOMIC_RELAXED);
}

/* Sleeps ns on CLOCK_MONOTONIC, raw (never through a wrapper); a signal cuts it short. */
static void chaos_sleep(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* Takes `want` ns of the process's budget and the plan's time left; what may be used. */
static int64_t take_budget(const struct chaos_plan *p, int64_t want)
{
	if (p->deadline_ns) {
		int64_t left = p->deadline_ns - fh_now();
		if (left <= 0)
			return 0;
		if (want > left)
			want = left;
	}
	if (want > FH_CHAOS_MAX_NS)
		want = FH_CHAOS_MAX_NS;
	int64_t used = __atomic_fetch_add(&proc_inj_ns, want, __ATOMIC_RELAXED);
	if (used + want <= p->budget_ns)
		return want;
	int64_t ok = p->budget_ns > used ? p->budget_ns - used : 0;
	__atomic_fetch_sub(&proc_inj_ns, want - ok, __ATOMIC_RELAXED);
	return ok;
}

/* Injects one perturbation of kind at the thread t (owner: the call's slot, or -1) and
 * records it; the time it took, 0 when nothing was injected. */
static int64_t inject(struct fh_thr *t, const struct chaos_plan *p, int kind, unsigned id,
		      int64_t owner, int64_t want, int src, unsigned cls, uint32_t k, int64_t arg2)
{
	if (kind != FHT_CHAOS_YIELD && (want = take_budget(p, want)) < 1000)
		return 0;
	if (__atomic_load_n(&plan_recorded, __ATOMIC_RELAXED) != p->gen + 1)
		record_plan(t, p);
	uint64_t idx;
	struct fht_rec *r = fh_reserve(t, &idx);
	if (!r) {
		if (kind != FHT_CHAOS_YIELD)
			__atomic_fetch_sub(&proc_inj_ns, want, __ATOMIC_RELAXED);
		return 0;   /* nothing injected that the trace could not show */
	}
	r->call = (uint16_t)id;
	r->fd = kind;
	r->arg = owner;
	r->arg2 = kind == FHT_CHAOS_YIELD ? arg2 : k;
	r->result = src;
	r->err = (int32_t)cls;
	r->timeout_ns = kind == FHT_CHAOS_YIELD ? 0 : want;
	r->flags = 0;
	r->start_ns = fh_now_t(t);
	__atomic_store_n(&r->type, FHT_REC_CHAOS, __ATOMIC_RELEASE);
	if (kind == FHT_CHAOS_YIELD)
		syscall(SYS_sched_yield);
	else
		chaos_sleep(want);
	int64_t end = fh_now_t(t);
	r->end_ns = end > r->start_ns ? end : r->start_ns;
	__atomic_store_n(&r->flags, FHT_F_DONE, __ATOMIC_RELEASE);
	int64_t took = r->end_ns - r->start_ns;
	struct fhc_tab_head *h = tab_get(p);
	if (h) {
		__atomic_fetch_add(&h->injected, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&h->injected_ns, (uint64_t)took, __ATOMIC_RELAXED);
		max_u64(&h->max_delay_ns, (uint64_t)took);
	}
	return took > 0 ? took : 1;
}

static void note_site(const struct chaos_plan *p, const struct chaos_thr *h, unsigned id,
		      unsigned cls, const char *tgt, size_t tlen, uint32_t thash,
		      const struct fht_rec *r, int64_t injected)
{
	struct fhc_tab_head *th = tab_get(p);
	if (!th)
		return;
	struct fhc_site *s = site_of(th, id, h->role, thash, tgt, tlen, cls);
	if (!s)
		return;
	const struct fht_call_info *ci = &fht_calls[id];
	int64_t took = r->end_ns - r->start_ns;
	bool ran_out = ((ci->flags & FHF_POLL) && r->result == 0 && r->timeout_ns > 0) ||
		(r->err == ETIMEDOUT) || (r->err == EAGAIN && r->timeout_ns > 0);
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(&s->threads, 1u << (mix64(pkey ^ h->ordinal) & 31), __ATOMIC_RELAXED);
	if (ran_out)
		__atomic_fetch_add(&s->ran_out, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->wait_ns, (uint64_t)(took > 0 ? took : 0), __ATOMIC_RELAXED);
	if (took > 0 && (uint64_t)took > __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED)) {
		max_u64(&s->max_ns, (uint64_t)took);
		__atomic_store_n(&s->max_tmo_ns, r->timeout_ns, __ATOMIC_RELAXED);
	}
	if (injected > 0) {
		__atomic_fetch_add(&s->injected, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->injected_ns, (uint64_t)injected, __ATOMIC_RELAXED);
		max_u64(&s->max_inj_ns, (uint64_t)injected);
	}
	uint64_t seq = __atomic_add_fetch(&th->seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->last_seq, seq, __ATOMIC_RELAXED);
}

/* What a call's before-point decided, for its after-point (one call at a time per thread,
 * signal handlers excluded). */
static __thread int64_t before_injected __attribute__((tls_model("initial-exec")));

void fh_chaos_before(struct fh_call *c, unsigned id, const char *tgt)
{
	struct chaos_thr *h;
	int saved = errno;
	before_injected = 0;
	const struct chaos_plan *p = usable(c->t, &h);
	if (!p || id >= FH_NCALLS)
		goto out;
	unsigned cls = class_of(id, c->rec->fd);
	if (!cls)
		goto out;
	uint32_t k = ++h->k[id];
	if (!(call_at[id] & AT_BEFORE) || (!p->p_spread && !p->ntargets))
		goto out;
	char buf[FHC_SITE_TGT];
	size_t n = call_target(c, id, cls, tgt, h, buf);
	int64_t delay;
	int src;
	if (!decide(p, h, id, cls, AT_BEFORE, buf, n, fnv32(buf, n), k, &delay, &src))
		goto out;
	before_injected = inject(c->t, p, FHT_CHAOS_DELAY_BEFORE, id, (int64_t)c->idx, delay, src,
				 cls, k, 0);
	if (before_injected)
		c->rec->start_ns = fh_now_t(c->t);   /* the call itself starts now */
out:
	errno = saved;
}

void fh_chaos_after(struct fh_call *c, unsigned id, const char *tgt)
{
	struct chaos_thr *h;
	int saved = errno;
	int64_t injected = before_injected;
	before_injected = 0;
	const struct chaos_plan *p = usable(c->t, &h);
	if (!p || id >= FH_NCALLS)
		goto out;
	unsigned cls = class_of(id, c->rec->fd);
	if (!cls || cls == FHT_CHAOS_C_COND)
		goto out;   /* condition waits: CPython's GIL; perturbed only when named */
	uint32_t k = h->k[id];
	if (!k)
		k = ++h->k[id];   /* the plan arrived while the call was in progress */
	char buf[FHC_SITE_TGT];
	size_t n = call_target(c, id, cls, tgt, h, buf);
	uint32_t thash = fnv32(buf, n);
	int64_t delay;
	int src;
	if ((p->p_spread || p->ntargets) && (call_at[id] & AT_AFTER) &&
	    decide(p, h, id, cls, AT_AFTER, buf, n, thash, k, &delay, &src))
		injected += inject(c->t, p, FHT_CHAOS_DELAY_AFTER, id, (int64_t)c->idx, delay, src,
				   cls, k, 0);
	else if (cls == FHT_CHAOS_C_START && p->p_yield && h->yields < FH_CHAOS_MAX_YIELDS &&
		 draw(p, h, id, k, 0x7f) % 1000 < p->p_yield) {
		h->yields++;
		inject(c->t, p, FHT_CHAOS_YIELD, id, (int64_t)c->idx, 0, 0, cls, k, 0);
	}
	note_site(p, h, id, cls, buf, n, thash, c->rec, injected);
out:
	errno = saved;
}

void fh_chaos_release(const void *sem)
{
	struct chaos_thr *h;
	int saved = errno;
	const struct chaos_plan *p = __atomic_load_n(&cur_plan, __ATOMIC_ACQUIRE);
	if (!p || !p->p_yield || !fh_on)
		goto out;
	struct fh_thr *t = fh_thread();
	if (!t || !(p = usable(t, &h)) || h->yields >= FH_CHAOS_MAX_YIELDS)
		goto out;
	uint32_t k = ++h->krel;
	if (draw(p, h, FH_NO_CALL, k, 0x7e) % 1000 >= p->p_yield)
		goto out;
	h->yields++;
	inject(t, p, FHT_CHAOS_YIELD, FH_NO_CALL, -1, 0, 0, FHT_CHAOS_C_LOCK, k,
	       (int64_t)(uintptr_t)sem);
out:
	errno = saved;
}

/* ---- plans in force ---- */

/* Publishes a parsed plan (or none); a new generation starts the budget and the counters. */
static void publish(struct chaos_plan *p)
{
	if (p) {
		__atomic_store_n(&shot_threads[(p - plans) & 3], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&proc_inj_ns, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&next_ordinal, 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&cur_plan, p, __ATOMIC_RELEASE);
	fh_chaos_on = p != NULL;
}

FH_EXPORT int fh_chaos_set(const char *plan);

/*
 * The plugin's call, at the start of each attempt in the test's thread (docs/FORMATS.md):
 * `plan` is in force in this process from now on, the calling thread is the test's; NULL or
 * "" ends chaos mode. 0, or -EINVAL when plan is malformed (chaos mode is then off). Threads
 * that exist at the first call (other than the caller) are the tool's and are never perturbed.
 */
int fh_chaos_set(const char *plan)
{
	int saved = errno, r = 0;
	if (!plan || !*plan) {
		publish(NULL);
		goto out;
	}
	int self = (int)syscall(SYS_gettid);
	if (!foreign_scanned) {
		scan_foreign(self);
		foreign_scanned = true;
	}
	struct chaos_plan *p = &plans[plan_next++ % 4];
	if ((r = parse_plan(plan, p))) {
		publish(NULL);
		goto out;
	}
	pkey = 0;
	test_tid = self;
	publish(p);
	struct fh_thr *t = fh_thread();
	if (t && !t->in_handler)
		record_plan(t, p);
out:
	errno = saved;
	return r;
}

FH_EXPORT int fh_chaos_check(const char *plan);
FH_EXPORT const char *fh_call_name(int id);

/* 0 when plan parses (nothing is changed), -EINVAL otherwise: the plugin's check of a plan
 * given on its command line, with the grammar in one place. */
int fh_chaos_check(const char *plan)
{
	static struct chaos_plan scratch;
	static int busy;
	int saved = errno, r;
	if (!plan)
		return -EINVAL;
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;
	r = parse_plan(plan, &scratch);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	errno = saved;
	return r;
}

/* The name of calls.def id (the site table names calls by id), NULL beyond the table. */
const char *fh_call_name(int id)
{
	return id >= 0 && id < FH_NCALLS ? fht_calls[id].name : NULL;
}

static void chaos_prepare_fork(void)
{
	fork_count++;
}

static void chaos_child(void)
{
	/* A forked child is another process under the same plan, with its own budget; the parent's
	 * test thread and its tool threads are not in it. */
	pkey = mix64(pkey ^ 0x5ca1ab1eULL ^ fork_count);
	test_tid = 0;
	nforeign = 0;
	__atomic_store_n(&proc_inj_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&next_ordinal, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&plan_recorded, 0, __ATOMIC_RELAXED);
	memset(shot_threads, 0, sizeof(shot_threads));
}

/* A process started under a plan (FH_CHAOS in its environment) is perturbed by it for its whole
 * life, under its own budget; its key is its command line, so the same command draws the same
 * perturbations. fh-analyze never is. Runs after the library's own constructor. */
__attribute__((constructor(102))) static void fh_chaos_init(void)
{
	int saved = errno;
	struct fh_thr *t = &fh_thr;
	/* The library's own calls (getenv is wrapped: the footprint) are not the program's. */
	int busy = t->busy;
	t->busy = 1;
	classes_init();
	pthread_atfork(chaos_prepare_fork, NULL, chaos_child);
	const char *v = getenv("FH_CHAOS");
	if (!v || !*v)
		goto out;
	char exe[256];
	long k = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof(exe) - 1);
	exe[k > 0 ? k : 0] = 0;
	const char *base = strrchr(exe, '/');
	if (!strcmp(base ? base + 1 : exe, "fh-analyze"))
		goto out;
	struct chaos_plan *p = &plans[plan_next++ % 4];
	if (parse_plan(v, p))
		goto out;
	char cmd[1024];
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	long n = fd >= 0 ? syscall(SYS_read, fd, cmd, sizeof(cmd)) : -1;
	if (fd >= 0)
		syscall(SYS_close, fd);
	pkey = mix64(fnv32(cmd, n > 0 ? (size_t)n : 0) | 0x100000000ULL);
	test_tid = 0;
	foreign_scanned = true;
	publish(p);
out:
	t->busy = busy;
	errno = saved;
}
