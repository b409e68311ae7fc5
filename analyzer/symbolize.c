/* SPDX-License-Identifier: MIT */
/*
 * libdw symbolization (see symbolize.h). One Dwfl per distinct module
 * file, reported at bias 0 so that module-relative addresses are file addresses; libdw's
 * standard debuginfo lookup finds separate debug files by build-id.
 */
#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "hmap.h"

/* ---- libdw sessions, one per module file ---- */

struct dw_entry {
	char *path, *build_id;  /* build_id as recorded; may be NULL */
	Dwfl *dwfl;             /* NULL when the file could not be opened */
	Dwfl_Module *mod;
	bool changed;           /* file's build-id differs from the recorded one */
};

struct pc_ent {
	const struct fh_modmap *map;
	uint64_t pc;
	struct fh_stack_frame f;
};

struct fh_symbolizer {
	struct dw_entry *e;
	size_t n, cap;
	struct hmap e_index;          /* e by (path, build-id) */
	struct pc_ent *pcs;           /* resolved frames ... */
	size_t npcs, cpcs;
	struct hmap pc_index;         /* ... by (map, pc) */
};

static const Dwfl_Callbacks dw_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct fh_symbolizer *symbolizer_new(void)
{
	return xcalloc(1, sizeof(struct fh_symbolizer));
}

void symbolizer_free(struct fh_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].dwfl)
			dwfl_end(s->e[i].dwfl);
		free(s->e[i].path);
		free(s->e[i].build_id);
	}
	free(s->e);
	hmap_free(&s->e_index);
	free(s->pcs);
	hmap_free(&s->pc_index);
	free(s);
}

static uint64_t dw_hash(const char *path, const char *build_id)
{
	return hmap_str_hash(path) ^ hmap_int_hash(build_id ? hmap_str_hash(build_id) : 0);
}

static uint64_t pc_hash(const struct fh_modmap *m, uint64_t pc)
{
	return hmap_int_hash(pc ^ hmap_int_hash((uint64_t)(uintptr_t)m));
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static struct dw_entry *dw_get(struct fh_symbolizer *s, const struct fh_module *m)
{
	struct dw_entry *e;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int nbits, fd;

	uint64_t h = dw_hash(m->path, m->build_id);
	size_t pos;

	/* A hash, not a walk of every session: a hostile map may name thousands of modules. */
	for (size_t i = hmap_first(&s->e_index, h, &pos); i != HMAP_NONE;
	     i = hmap_next(&s->e_index, h, &pos))
		if (!strcmp(s->e[i].path, m->path) && same(s->e[i].build_id, m->build_id))
			return &s->e[i];
	hmap_add(&s->e_index, h, s->n);
	GROW(s->e, s->cap, s->n + 1);
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(m->path);
	e->build_id = m->build_id ? xstrdup(m->build_id) : NULL;
	if (m->path[0] != '/')
		return e;
	/* Opened here, not by libdwfl: a FIFO listed as a module must not block the analyzer. */
	{
		struct stat st;

		fd = open_read(m->path, &st);
	}
	if (fd < 0) {
		if (fd == -FH_ENOTREG)
			warning("module '%s': not a regular file; its frames are not symbolized", m->path);
		return e;
	}
	e->dwfl = dwfl_begin(&dw_callbacks);
	if (!e->dwfl) {
		close(fd);
		return e;
	}
	e->mod = dwfl_report_elf(e->dwfl, base_name(m->path), m->path, fd, 0, false);
	dwfl_report_end(e->dwfl, NULL, NULL);
	if (!e->mod) {
		close(fd); /* consumed only on success */
		dwfl_end(e->dwfl);
		e->dwfl = NULL;
		return e;
	}
	nbits = dwfl_module_build_id(e->mod, &bits, &vaddr);
	if (m->build_id) {
		char hex[2 * 64 + 1];
		int k = 0;
		for (int i = 0; i < nbits && i < 64; i++) {
			hex[k++] = "0123456789abcdef"[bits[i] >> 4];
			hex[k++] = "0123456789abcdef"[bits[i] & 15];
		}
		hex[k] = 0;
		e->changed = nbits <= 0 || strcmp(hex, m->build_id) != 0;
	}
	return e;
}

static void resolve_pc(struct fh_symbolizer *s, const struct fh_modmap *m, uint64_t pc,
		       struct arena *a, struct fh_stack_frame *out)
{
	const struct fh_module *mod = m ? modmap_find(m, pc) : NULL;
	struct dw_entry *e;
	uint64_t rel;

	memset(out, 0, sizeof(*out));
	out->kind = "native";
	out->addr = pc;
	if (!mod)
		return;
	rel = pc - mod->bias;
	out->addr = rel;
	e = dw_get(s, mod);
	if (e->changed) {
		out->module = arena_printf(a, "%s [changed]", base_name(mod->path));
		return;
	}
	out->module = arena_strdup(a, base_name(mod->path));
	if (e->mod) {
		GElf_Addr look = rel - 1, off = 0;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(e->mod, look, &off, &sym, NULL, NULL, NULL);
		Dwfl_Line *line = dwfl_module_getsrc(e->mod, look);
		if (name && *name) /* without the symbol version: "recv@@GLIBC_2.2.5" -> "recv" */
			out->function = arena_strndup(a, name, strcspn(name, "@"));
		if (line) {
			int lineno = 0;
			const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
			if (src && lineno > 0) {
				out->path = arena_strdup(a, src);
				out->line = lineno;
			}
		}
	}
}

void symbolize_pc(struct fh_symbolizer *s, const struct fh_modmap *m, uint64_t pc,
		  struct arena *a, struct fh_stack_frame *out)
{
	uint64_t h;
	size_t k, pos;

	if (!m) {
		resolve_pc(s, m, pc, a, out);
		return;
	}
	h = pc_hash(m, pc);
	for (k = hmap_first(&s->pc_index, h, &pos); k != HMAP_NONE;
	     k = hmap_next(&s->pc_index, h, &pos)) {
		if (s->pcs[k].map == m && s->pcs[k].pc == pc) {
			*out = s->pcs[k].f;
			return;
		}
	}
	GROW(s->pcs, s->cpcs, s->npcs + 1);
	k = s->npcs++;
	resolve_pc(s, m, pc, a, &s->pcs[k].f);
	s->pcs[k].map = m;
	s->pcs[k].pc = pc;
	hmap_add(&s->pc_index, h, k);
	*out = s->pcs[k].f;
}

int symbolize_stack(struct fh_symbolizer *s, const struct fh_modmap *m, const uint64_t *pcs,
		    int npcs, const struct fh_stack_frame *py, int npy, struct arena *a,
		    struct fh_stack *out)
{
	size_t n = 0;

	out->frames = NULL;
	out->nframes = 0;
	if (npcs < 0 || npy < 0)
		return -EINVAL;
	if (npcs + npy == 0)
		return 0;
	out->frames = arena_alloc(a, sizeof(*out->frames) * (size_t)(npcs + npy));
	for (int i = 0; i < npy; i++) {
		struct fh_stack_frame *f = &out->frames[n++];
		*f = py[i];
		f->kind = "python";
		f->module = NULL;
		f->function = arena_strdup(a, py[i].function);
		f->path = arena_strdup(a, py[i].path);
		f->addr = 0;
	}
	for (int i = 0; i < npcs; i++)
		symbolize_pc(s, m, pcs[i], a, &out->frames[n++]);
	out->nframes = n;
	return 0;
}

/* ---- per-run state for the evidence stage ---- */

struct pid_map {
	char *dir;              /* the trace directory the map was read from */
	int pid;
	struct fh_modmap map;
	bool ok;
};

struct run_syms {
	struct fh_run *run;
	struct fh_symbolizer *sym;
	struct pid_map *maps;
	size_t nmaps, cap;
	struct hmap by_dir_pid; /* (dir, pid) -> index into maps */
};

struct run_syms *run_syms_new(struct fh_run *run)
{
	struct run_syms *rs = xcalloc(1, sizeof(*rs));

	rs->run = run;
	rs->sym = symbolizer_new();
	return rs;
}

void run_syms_free(struct run_syms *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nmaps; i++) {
		free(rs->maps[i].dir);
		modmap_free(&rs->maps[i].map);
	}
	free(rs->maps);
	hmap_free(&rs->by_dir_pid);
	symbolizer_free(rs->sym);
	free(rs);
}

static const struct fh_modmap *run_map(struct run_syms *rs, const struct fh_trace_file *tf,
				       int pid)
{
	const char *slash = tf && tf->path ? strrchr(tf->path, '/') : NULL;
	struct buf dir = BUF_INIT(PATH_MAX), path = BUF_INIT(PATH_MAX);
	const struct fh_modmap *found = NULL;
	struct pid_map *pm;
	uint64_t h;
	size_t k, pos;
	int bad = 0;

	if (slash)
		buf_add(&dir, tf->path, (size_t)(slash - tf->path));
	else if (!tf && rs->run->run_dir)
		buf_printf(&dir, "%s/trace", rs->run->run_dir);
	else
		buf_puts(&dir, ".");
	if (buf_failed(&dir))
		goto out; /* a path too long for the system: no map */
	h = hmap_str_hash(buf_str(&dir)) ^ hmap_int_hash((uint64_t)(int64_t)pid);
	for (k = hmap_first(&rs->by_dir_pid, h, &pos); k != HMAP_NONE;
	     k = hmap_next(&rs->by_dir_pid, h, &pos)) {
		if (rs->maps[k].pid == pid && !strcmp(rs->maps[k].dir, buf_str(&dir))) {
			found = rs->maps[k].ok ? &rs->maps[k].map : NULL;
			goto out;
		}
	}
	GROW(rs->maps, rs->cap, rs->nmaps + 1);
	hmap_add(&rs->by_dir_pid, h, rs->nmaps);
	pm = &rs->maps[rs->nmaps++];
	memset(pm, 0, sizeof(*pm));
	pm->dir = buf_detach(&dir);
	pm->pid = pid;
	buf_printf(&path, "%s/%d.maps", pm->dir, pid);
	if (buf_failed(&path))
		goto out;
	int lr = modmap_load(buf_str(&path), &pm->map, &bad);

	if (lr < 0) {
		warning("%s: %s; native frames stay unsymbolized", buf_str(&path),
			lr == -FH_ENOTREG ? "not a regular file" : "no module map");
		goto out;
	}
	if (bad)
		warning("%s: %d malformed lines skipped", buf_str(&path), bad);
	pm->ok = true;
	found = &pm->map;
out:
	buf_free(&dir);
	buf_free(&path);
	return found;
}

int symbolize_event_stack(struct run_syms *rs, const struct fh_trace_file *tf,
			  const struct fh_event *ev, struct fh_stack *out)
{
	const struct fh_run *run = rs->run;
	const struct fh_modmap *m = NULL;

	out->frames = NULL;
	out->nframes = 0;
	if (!ev || (ev->nstack <= 0 && ev->npystack <= 0))
		return 0;
	if (ev->nstack > 0)
		m = run_map(rs, tf, ev->pid ? ev->pid : (tf ? tf->pid : 0));
	if (symbolize_stack(rs->sym, m, ev->stack, ev->nstack > 0 ? ev->nstack : 0, ev->pystack,
			    ev->npystack > 0 ? ev->npystack : 0, &rs->run->arena, out) < 0)
		return -EINVAL;
	/* Python paths under the rootdir are shown relative to it, like the attempt records. */
	if (run->meta.rootdir && *run->meta.rootdir) {
		size_t rl = strlen(run->meta.rootdir);
		for (size_t i = 0; i < out->nframes; i++) {
			const char *p = out->frames[i].path;
			if (out->frames[i].addr == 0 && p && !strncmp(p, run->meta.rootdir, rl) &&
			    p[rl] == '/' && p[rl + 1])
				out->frames[i].path = p + rl + 1;
		}
	}
	return 0;
}
