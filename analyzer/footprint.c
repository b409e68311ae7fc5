/* SPDX-License-Identifier: MIT */
/*
 * The footprint of each attempt: what it left behind and what it looked at (footprint.h has
 * the rules). Raw trace events are kept per attempt during the evidence join and folded into
 * net effects when the attempt is finished; the plugin's Python-side footprint was read with
 * the attempt record (core/foot_rec.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "fhtrace_format.h"
#include "footprint.h"


struct op {
	unsigned foot;            /* enum fht_foot; FHT_FOOT_COUNT for a connect */
	int call;                 /* its id in the call table */
	bool own, done;
	int64_t result, arg, arg2;
	int err;
	const char *target;       /* copied; may be NULL */
};

struct fh_foot_raw {
	struct op *ops; size_t n, cap;
	size_t dropped;
	const char **listening; size_t nlistening, clistening;
};

/* ---- building ---- */

static struct fh_footprint *foot_of(struct fh_attempt *a, struct arena *A)
{
	if (!a->foot)
		a->foot = arena_alloc(A, sizeof(*a->foot));
	return a->foot;
}

/* How a read was made: the name of the call that made it, as the call table spells it. */
static const char *call_name(const struct op *o)
{
	const struct fht_call_info *ci = o->call >= 0 ? fht_call((unsigned)o->call) : NULL;

	return ci ? ci->name : "call";
}

/* ---- raw trace events ---- */

void foot_raw_add(struct fh_foot_raw **frp, struct arena *A, const struct fh_event *e, bool own)
{
	struct fh_foot_raw *fr = *frp;
	unsigned foot = fht_call_foot(e->cflags);

	if (!foot && e->call != FH_ID_connect)
		return;
	if (!fr)
		fr = *frp = xcalloc(1, sizeof(*fr));
	if (fr->n >= FH_FOOT_MAX_OPS) {
		fr->dropped++;
		return;
	}
	GROW(fr->ops, fr->cap, fr->n + 1);
	fr->ops[fr->n++] = (struct op){ foot ? foot : FHT_FOOT_COUNT, e->call, own, e->done,
		e->result, e->arg, e->arg2, e->err, e->target ? foot_cut(A, e->target, 2048) : NULL };
}

void foot_raw_listening(struct fh_foot_raw **frp, struct arena *A, const char *addr)
{
	struct fh_foot_raw *fr = *frp;

	if (!fr)
		fr = *frp = xcalloc(1, sizeof(*fr));
	if (fr->nlistening >= 64 || !addr)
		return;
	GROW(fr->listening, fr->clistening, fr->nlistening + 1);
	fr->listening[fr->nlistening++] = foot_cut(A, addr, 128);
}

void foot_raw_free(struct fh_foot_raw *fr)
{
	if (!fr)
		return;
	free(fr->ops);
	free(fr->listening);
	free(fr);
}

/* ":8765" of "127.0.0.1:8765" or "[::1]:8765"; NULL when there is no port. */
static const char *port_key(struct arena *A, const char *addr)
{
	const char *c = addr ? strrchr(addr, ':') : NULL;

	if (!c || !c[1] || !strncmp(addr, "unix:", 5))
		return NULL;
	for (const char *p = c + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return NULL;
	return arena_strdup(A, c);
}

struct pathst {
	const char *path;
	bool dir, created, deleted, written;
	int first;                /* first op: 'c'reate, 'd'elete, 'w'rite */
};

static struct pathst *path_get(struct pathst **v, size_t *n, size_t *cap, const char *p, bool dir)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].path, p))
			return &(*v)[i];
	if (*n >= FH_FOOT_MAX_LEFT)
		return NULL;
	GROW(*v, *cap, *n + 1);
	(*v)[*n] = (struct pathst){ p, dir, false, false, false, 0 };
	return &(*v)[(*n)++];
}

static void path_op(struct pathst **v, size_t *n, size_t *cap, const char *p, bool dir, char op)
{
	struct pathst *s = p ? path_get(v, n, cap, p, dir) : NULL;

	if (!s)
		return;
	if (!s->first)
		s->first = op;
	if (op == 'c') {
		s->created = true;
		s->deleted = false;
	} else if (op == 'd') {
		s->deleted = true;
	} else {
		s->written = true;
	}
	s->dir = dir;
}

static const char *sig_name(struct arena *A, int sig)
{
	const char *n = sig > 0 && sig < 65 ? sigabbrev_np(sig) : NULL;
	return n ? arena_printf(A, "SIG%s", n) : arena_printf(A, "signal %d", sig);
}

static const char *rlimit_name(int res)
{
	static const char *const names[] = { "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA",
		"RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
		"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
		"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME" };
	return res >= 0 && (size_t)res < ARRAY_SIZE(names) ? names[res] : "RLIMIT_?";
}

static const char *locale_name(int cat)
{
	static const char *const names[] = { "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE",
		"LC_MONETARY", "LC_MESSAGES", "LC_ALL" };
	return cat >= 0 && (size_t)cat < ARRAY_SIZE(names) ? names[cat] : "LC_?";
}

void footprint_finish(struct fh_attempt *a, struct arena *A, struct fh_foot_raw *raw,
		      int fds0, int threads0, int fds1, int threads1)
{
	struct fh_footprint *f = foot_of(a, A);
	size_t rcap = foot_reads_cap(f);
	struct pathst *paths = NULL;
	size_t npaths = 0, cpaths = 0;
	bool py = f->python;
	int umask_first = -1, umask_last = -1;

	if (fds0 >= 0 && fds1 >= 0 && threads0 >= 0 && threads1 >= 0) {
		f->counts = true;
		f->fds_left = fds1 - fds0;
		f->threads_left = threads1 - threads0;
	}
	for (size_t i = 0; raw && i < raw->n; i++) {
		const struct op *o = &raw->ops[i];
		const char *t = o->target;
		bool ok = o->done && o->err == 0;

		switch (o->foot) {
		case FHT_FOOT_OPEN: {
			int acc = (int)(o->arg & O_ACCMODE);
			if (!t)
				break;
			if (o->done && o->result >= 0 && (o->arg2 & FHT_OPEN_CREATED))
				path_op(&paths, &npaths, &cpaths, t, false, 'c');
			else if (o->done && o->result >= 0 && (acc != O_RDONLY || (o->arg & O_TRUNC)))
				path_op(&paths, &npaths, &cpaths, t, false, 'w');
			else if (o->done)
				foot_add_read(A, f, &rcap, FH_KEY_FILE, t, "opened", o->result >= 0);
			if (t[0] != '/')
				foot_add_read(A, f, &rcap, FH_KEY_CWD, "cwd",
					 arena_printf(A, "relative path %s", t), -1);
			break;
		}
		case FHT_FOOT_STAT:
			if (!t || !o->done)
				break;
			foot_add_read(A, f, &rcap, FH_KEY_FILE, t, "looked at", o->result == 0);
			if (t[0] != '/')
				foot_add_read(A, f, &rcap, FH_KEY_CWD, "cwd",
					 arena_printf(A, "relative path %s", t), -1);
			break;
		case FHT_FOOT_UNLINK:
			if (ok && t)
				path_op(&paths, &npaths, &cpaths, t, (o->arg & AT_REMOVEDIR) != 0, 'd');
			break;
		case FHT_FOOT_RMDIR:
			if (ok && t)
				path_op(&paths, &npaths, &cpaths, t, true, 'd');
			break;
		case FHT_FOOT_MKDIR:
			if (ok && t)
				path_op(&paths, &npaths, &cpaths, t, true, 'c');
			break;
		case FHT_FOOT_LINK:
			if (ok && t)
				path_op(&paths, &npaths, &cpaths, t, false, 'c');
			break;
		case FHT_FOOT_RENAME: {
			const char *nl = t ? strchr(t, '\n') : NULL;
			if (!ok || !nl)
				break;
			path_op(&paths, &npaths, &cpaths, arena_strndup(A, t, (size_t)(nl - t)), false,
				'd');
			path_op(&paths, &npaths, &cpaths, nl + 1, false, 'c');
			break;
		}
		case FHT_FOOT_ENV_SET: case FHT_FOOT_ENV_UNSET: {
			const char *eq = t ? strchr(t, '=') : NULL;
			const char *name = eq ? arena_strndup(A, t, (size_t)(eq - t)) : t;
			if (!o->own || !ok || !name || !strcmp(name, FH_FOOT_IGNORED_VAR) || py)
				break;
			if (o->foot == FHT_FOOT_ENV_SET && eq)
				foot_add_left(A, f, FH_KEY_ENV, name, "set", eq + 1);
			else
				foot_add_left(A, f, FH_KEY_ENV, name, "unset", NULL);
			break;
		}
		case FHT_FOOT_ENV_CLEAR:
			if (o->own && ok && !py)
				foot_add_left(A, f, FH_KEY_ENV, "*", "cleared", NULL);
			break;
		case FHT_FOOT_ENV_READ:
			if (o->own && t && strcmp(t, FH_FOOT_IGNORED_VAR))
				foot_add_read(A, f, &rcap, FH_KEY_ENV, t, call_name(o), o->arg ? 1 : 0);
			break;
		case FHT_FOOT_CWD:
			if (o->own && ok && t && !py)
				foot_add_left(A, f, FH_KEY_CWD, "cwd", "changed", t);
			break;
		case FHT_FOOT_UMASK:
			if (!o->own || !o->done)
				break;
			if (umask_first < 0)
				umask_first = (int)(o->result & 0777);
			umask_last = (int)(o->arg & 0777);
			break;
		case FHT_FOOT_SIGNAL:
			if (o->own && ok && o->arg2 != 0)
				foot_add_left(A, f, FH_KEY_SIGNAL, sig_name(A, (int)o->arg),
					 o->arg2 == 1 ? "ignored" : "handler installed", NULL);
			break;
		case FHT_FOOT_RLIMIT:
			if (o->own && ok && o->arg2 != -2)
				foot_add_left(A, f, FH_KEY_RLIMIT, rlimit_name((int)o->arg), "set",
					 o->arg2 < 0 ? "unlimited" : arena_printf(A, "soft %lld",
										 (long long)o->arg2));
			break;
		case FHT_FOOT_LOCALE:
			if (o->own && o->done && o->result && t)
				foot_add_left(A, f, FH_KEY_LOCALE, locale_name((int)o->arg), "set", t);
			break;
		case FHT_FOOT_LISTEN: {
			const char *pk = port_key(A, t);
			bool still = false;
			for (size_t k = 0; raw && pk && k < raw->nlistening; k++) {
				const char *lk = port_key(A, raw->listening[k]);
				still |= lk && !strcmp(lk, pk);
			}
			if (o->own && ok && pk && still)
				foot_add_left(A, f, FH_KEY_PORT, pk, "listening", t);
			break;
		}
		case FHT_FOOT_BIND: {
			const char *pk = port_key(A, t);
			if (pk && o->done && strcmp(pk, ":0"))
				foot_add_read(A, f, &rcap, FH_KEY_PORT, pk, call_name(o),
					 o->err == EADDRINUSE ? 1 : o->err == 0 ? 0 : -1);
			break;
		}
		case FHT_FOOT_COUNT: {   /* connect */
			const char *pk = port_key(A, t);
			if (pk && o->done)
				foot_add_read(A, f, &rcap, FH_KEY_PORT, pk, call_name(o),
					 o->err == ECONNREFUSED ? 0 : (o->err == 0 || o->err == EINPROGRESS) ?
					 1 : -1);
			break;
		}
		default:
			break;
		}
	}
	for (size_t i = 0; i < npaths; i++) {
		const struct pathst *p = &paths[i];
		enum fh_key_kind k = p->dir ? FH_KEY_DIR : FH_KEY_FILE;

		if (p->created && !p->deleted)
			foot_add_left(A, f, k, p->path, "created", NULL);
		else if (p->deleted && !p->created)
			foot_add_left(A, f, k, p->path, "deleted", NULL);
		else if (p->written && !p->deleted && !p->created)
			foot_add_left(A, f, k, p->path, "written", NULL);
	}
	free(paths);
	if (umask_first >= 0 && umask_last >= 0 && umask_first != umask_last)
		foot_add_left(A, f, FH_KEY_UMASK, "umask", "set",
			 arena_printf(A, "%03o (was %03o)", umask_last, umask_first));
	for (size_t i = 0; a->trace && i < a->trace->nchildren; i++) {
		const struct fh_child *ch = &a->trace->children[i];
		if (ch->duration_s < 0 && ch->pid > 0)
			foot_add_left(A, f, FH_KEY_CHILD, arena_printf(A, "%d", ch->pid), "left running",
				 ch->exe);
	}
	if (f->counts && f->threads_left > 0)
		foot_add_left(A, f, FH_KEY_THREAD, "threads", "left running",
			 arena_printf(A, "%d more thread%s", f->threads_left,
				      f->threads_left == 1 ? "" : "s"));
	if (raw)
		f->reads_dropped += raw->dropped;
	foot_raw_free(raw);
}

/* ---- output ---- */

const char *footprint_left_text(struct arena *A, const struct fh_foot_left *l)
{
	switch (l->kind) {
	case FH_KEY_FILE: case FH_KEY_DIR:
		return arena_printf(A, "%s %s %s", !strcmp(l->what, "written") ? "wrote" :
				    !strcmp(l->what, "deleted") ? "deleted" : l->what,
				    l->kind == FH_KEY_DIR ? "directory" : "file", l->key);
	case FH_KEY_ENV:
		if (!strcmp(l->what, "set"))
			return arena_printf(A, "set %s=%s", l->key, l->value ? l->value : "");
		return arena_printf(A, "%s %s", !strcmp(l->what, "unset") ? "removed" : l->what,
				    l->key);
	case FH_KEY_CWD:
		return arena_printf(A, "changed the working directory to %s",
				    l->value ? l->value : "?");
	case FH_KEY_THREAD:
		return arena_printf(A, "left threads running (%s)", l->value ? l->value : "?");
	case FH_KEY_PORT:
		return arena_printf(A, "left %s listening", l->value ? l->value : l->key);
	case FH_KEY_MODULE:
		return arena_printf(A, "imported %s", l->key);
	case FH_KEY_CHILD:
		return arena_printf(A, "left child process %s (%s) running", l->key,
				    l->value ? l->value : "?");
	case FH_KEY_SIGNAL:
		return arena_printf(A, "%s %s", l->what, l->key);
	default:
		return arena_printf(A, "%s %s%s%s", l->what, l->key, l->value ? " " : "",
				    l->value ? l->value : "");
	}
}

void footprint_json(struct buf *b, const struct fh_footprint *f)
{
	buf_puts(b, "{\"left\":[");
	for (size_t i = 0; i < f->nleft; i++) {
		const struct fh_foot_left *l = &f->left[i];
		buf_puts(b, i ? ",{\"kind\":" : "{\"kind\":");
		buf_json_str(b, fh_key_kind_names[l->kind]);
		buf_puts(b, ",\"key\":");
		buf_json_str(b, l->key);
		buf_puts(b, ",\"what\":");
		buf_json_str(b, l->what);
		buf_puts(b, ",\"value\":");
		if (l->value)
			buf_json_str(b, l->value);
		else
			buf_puts(b, "null");
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"read\":[");
	for (size_t i = 0; i < f->nreads && i < 64; i++) {
		const struct fh_foot_read *r = &f->reads[i];
		buf_puts(b, i ? ",{\"kind\":" : "{\"kind\":");
		buf_json_str(b, fh_key_kind_names[r->kind]);
		buf_puts(b, ",\"key\":");
		buf_json_str(b, r->key);
		buf_puts(b, ",\"how\":");
		buf_json_str(b, r->how);
		buf_puts(b, r->found < 0 ? ",\"found\":null}" : r->found ? ",\"found\":true}" :
			 ",\"found\":false}");
	}
	buf_printf(b, "],\"reads_not_listed\":%zu,",
		   (f->nreads > 64 ? f->nreads - 64 : 0) + f->reads_dropped);
	if (f->counts)
		buf_printf(b, "\"fds_left\":%d,\"threads_left\":%d}", f->fds_left, f->threads_left);
	else
		buf_puts(b, "\"fds_left\":null,\"threads_left\":null}");
}
