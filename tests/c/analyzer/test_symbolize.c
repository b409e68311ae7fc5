/* SPDX-License-Identifier: MIT */
/*
 * Symbolization (analyzer/symbolize.c) against a real capture: runs
 * build/tests/preload/stack_prog (built with -g, capturing its own stack with
 * preload/stacks.c and writing its module map with preload/modmap.c), then resolves the
 * printed addresses offline and checks function and file:line against the lines the program
 * printed, a libc frame through libc6-dbg's separate debug file (found by build-id), the
 * [changed] marking of a module whose build-id no longer matches, an unchanged fd table, and
 * hostile module maps.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_check.h"
#include "stackfmt.h"
#include "symbolize.h"
#include "trace.h"

struct prog_out {
	char dir[PATH_MAX];
	int lines[4];             /* inner, middle, outer, main */
	uint64_t pcs[64];
	int npcs;
	int pid;
	bool fds_same, stack_on;
};

static const char *const fnames[4] = { "inner", "middle", "outer", "main" };

static void run_prog(struct prog_out *o, int times)
{
	char exe[PATH_MAX], cmd[PATH_MAX * 2 + 64], line[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	FILE *f;

	memset(o, 0, sizeof(*o));
	ck_assert(n > 0);
	exe[n] = 0;
	slash = strrchr(exe, '/');
	ck_assert(slash != NULL);
	*slash = 0;
	snprintf(o->dir, sizeof(o->dir), "/tmp/fh-test-symbolize-XXXXXX");
	ck_assert(mkdtemp(o->dir) != NULL);
	snprintf(cmd, sizeof(cmd), "%s/preload/stack_prog %s %d", exe, o->dir, times);
	f = popen(cmd, "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		int ln;
		unsigned long long pc;
		if (sscanf(line, "line %31s %d", name, &ln) == 2) {
			for (int i = 0; i < 4; i++)
				if (!strcmp(name, fnames[i]))
					o->lines[i] = ln;
		} else if (sscanf(line, "pc %llx", &pc) == 1 && o->npcs < 64) {
			o->pcs[o->npcs++] = pc;
		} else if (!strcmp(line, "fds same\n")) {
			o->fds_same = true;
		} else if (!strcmp(line, "stack on\n")) {
			o->stack_on = true;
		}
	}
	ck_assert_int_eq(pclose(f), 0);
}

static void load_map(const struct prog_out *o, struct fh_modmap *m)
{
	char cmd[PATH_MAX + 64], path[2 * PATH_MAX + 2], line[PATH_MAX];
	FILE *f;
	int bad = -1;

	snprintf(cmd, sizeof(cmd), "ls %s", o->dir);
	f = popen(cmd, "r");
	ck_assert(f && fgets(line, sizeof(line), f));
	pclose(f);
	line[strcspn(line, "\n")] = 0;
	snprintf(path, sizeof(path), "%s/%s", o->dir, line);
	ck_assert_int_eq(modmap_load(path, m, &bad), 0);
	ck_assert_int_eq(bad, 0);
}

static void cleanup(const struct prog_out *o)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", o->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

START_TEST(test_c_program_dwarf_lines)
{
	struct prog_out o;
	struct fh_modmap m;
	struct fh_symbolizer *s = symbolizer_new();
	struct arena a = { 0 };
	struct fh_stack st;
	size_t k = 0;
	bool libc_seen = false;

	run_prog(&o, 3);
	ck_assert(o.stack_on);
	ck_assert(o.fds_same);
	ck_assert_int_ge(o.npcs, 5);
	load_map(&o, &m);
	ck_assert_ptr_nonnull(m.stack_status);
	ck_assert_str_eq(m.stack_status, "on");
	ck_assert_int_eq(symbolize_stack(s, &m, o.pcs, o.npcs, NULL, 0, &a, &st), 0);
	ck_assert_int_eq(st.nframes, o.npcs);
	while (k < st.nframes && !(st.frames[k].function && !strcmp(st.frames[k].function, "inner")))
		k++;
	ck_assert_msg(k + 4 <= st.nframes, "no frame 'inner' in the stack");
	for (int i = 0; i < 4; i++, k++) {
		const struct fh_stack_frame *f = &st.frames[k];
		ck_assert_str_eq(f->kind, "native");
		ck_assert_str_eq(f->module, "stack_prog");
		ck_assert_str_eq(f->function, fnames[i]);
		ck_assert_msg(ends_with(f->path, "stack_prog.c"), "path %s", f->path);
		ck_assert_int_eq(f->line, o.lines[i]);
	}
	for (; k < st.nframes; k++)
		if (st.frames[k].module && !strcmp(st.frames[k].module, "libc.so.6")) {
			libc_seen = true;
			ck_assert_ptr_nonnull(st.frames[k].function);
			/* Line info comes from libc6-dbg's separate debug file, found by build-id. */
			ck_assert_msg(st.frames[k].path != NULL, "libc frame %s without file:line",
				      st.frames[k].function);
			ck_assert_int_gt(st.frames[k].line, 0);
		}
	ck_assert(libc_seen);
	symbolizer_free(s);
	modmap_free(&m);
	arena_free(&a);
	cleanup(&o);
}
END_TEST

START_TEST(test_changed_binary_detected)
{
	struct prog_out o;
	struct fh_modmap m;
	struct fh_symbolizer *s = symbolizer_new();
	struct arena a = { 0 };
	struct fh_stack_frame f;
	const struct fh_module *mod;

	run_prog(&o, 1);
	load_map(&o, &m);
	mod = modmap_find(&m, o.pcs[1]);
	ck_assert_ptr_nonnull(mod);
	ck_assert_ptr_nonnull(mod->build_id);
	memset((char *)mod->build_id, '0', strlen(mod->build_id)); /* "rebuilt since the run" */
	symbolize_pc(s, &m, o.pcs[1], &a, &f);
	ck_assert_str_eq(f.module, "stack_prog [changed]");
	ck_assert_ptr_null(f.function);
	ck_assert_ptr_null(f.path);
	ck_assert_int_eq(f.addr, o.pcs[1] - mod->bias);
	/* An address outside every module stays raw. */
	symbolize_pc(s, &m, 0x10, &a, &f);
	ck_assert_ptr_null(f.module);
	ck_assert_int_eq(f.addr, 0x10);
	symbolizer_free(s);
	modmap_free(&m);
	arena_free(&a);
	cleanup(&o);
}
END_TEST

START_TEST(test_modmap_hostile)
{
	static const char *const bad_inputs[] = {
		"", "fhmaps 2\n", "garbage", "fhmaps 1",
	};
	const char *text =
		"fhmaps 1\n"
		"pid 12 1\n"
		"stack on\n"
		"pystack off: unsupported Python 3.12.1\n"
		"mod 1000 2000 1000 abcdef /lib/a.so\n"
		"mod 2000 1000 0 - /bad/range.so\n"
		"mod zz 3000 0 - /bad/hex.so\n"
		"mod 3000 4000 3000 ABC /bad/bid.so\n"
		"mod 11111111111111111 4000 0 - /bad/long.so\n"
		"mod 1800 1900 1800 - /lib/with space.so\n"
		"pid x\n"
		"what is this\n"
		"mod 5000 6000 5000 - /torn";
	struct fh_modmap m;
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bad_inputs); i++) {
		ck_assert_int_lt(modmap_parse(bad_inputs[i], strlen(bad_inputs[i]), &m, NULL), 0);
		modmap_free(&m);
	}
	ck_assert_int_eq(modmap_parse(text, strlen(text), &m, &bad), 0);
	ck_assert_int_eq(bad, 7);
	ck_assert_int_eq(m.pid, 12);
	ck_assert_int_eq(m.ppid, 1);
	ck_assert_str_eq(m.pystack_status, "off: unsupported Python 3.12.1");
	ck_assert_int_eq(m.nmods, 2);
	ck_assert_str_eq(m.mods[0].build_id, "abcdef");
	ck_assert_ptr_null(m.mods[1].build_id);
	ck_assert_str_eq(m.mods[1].path, "/lib/with space.so");
	/* The last module holding the address wins (loaded later over an unloaded one). */
	ck_assert_str_eq(modmap_find(&m, 0x1850)->path, "/lib/with space.so");
	ck_assert_str_eq(modmap_find(&m, 0x1000)->path, "/lib/a.so");
	ck_assert_ptr_null(modmap_find(&m, 0x2000));
	modmap_free(&m);
}
END_TEST

/* Many overlapping lines: modmap_find() (a segment index) answers what a walk of every line
 * from the last would; the walk was the cost of each address, times the lines of a map. */
START_TEST(test_modmap_overlaps_match_the_last_line_rule)
{
	struct buf text = BUF_INIT(1 << 20);
	struct fh_modmap m;
	unsigned seed = 12345;

	buf_puts(&text, "fhmaps 1\n");
	for (int i = 0; i < 2000; i++) {
		uint64_t lo = (uint64_t)(rand_r(&seed) % 100000) * 16, len = 16 + rand_r(&seed) % 4000;

		buf_printf(&text, "mod %llx %llx %llx - /lib/m%d.so\n", (unsigned long long)lo,
			   (unsigned long long)(lo + len), (unsigned long long)lo, i);
	}
	ck_assert_int_eq(modmap_parse(buf_str(&text), buf_len(&text), &m, NULL), 0);
	ck_assert_int_eq(m.nmods, 2000);
	for (int k = 0; k < 20000; k++) {
		uint64_t pc = (uint64_t)(rand_r(&seed) % 1700000);
		const struct fh_module *want = NULL;

		if (k % 4 == 0) /* the edges too */
			pc = k % 8 ? m.mods[k % 2000].lo : m.mods[k % 2000].hi;
		for (size_t i = m.nmods; i-- > 0 && !want;)
			if (pc >= m.mods[i].lo && pc < m.mods[i].hi)
				want = &m.mods[i];
		ck_assert_ptr_eq(modmap_find(&m, pc), want);
	}
	modmap_free(&m);
	buf_free(&text);
}
END_TEST

START_TEST(test_missing_file_and_format)
{
	const char *text = "fhmaps 1\nmod 1000 2000 1000 - /nonexistent/libgone.so\n";
	struct fh_modmap m;
	struct fh_symbolizer *s = symbolizer_new();
	struct arena a = { 0 };
	struct fh_stack_frame f, py = { .kind = "python", .path = "t.py", .line = 3,
					.function = "f" };
	struct fh_stack st;
	uint64_t pc = 0x1234;
	struct buf b = BUF_INIT(4096);

	ck_assert_int_eq(modmap_parse(text, strlen(text), &m, NULL), 0);
	symbolize_pc(s, &m, 0x1234, &a, &f);
	ck_assert_str_eq(f.module, "libgone.so");
	ck_assert_ptr_null(f.function);
	ck_assert_int_eq(f.addr, 0x234);
	ck_assert_int_eq(symbolize_stack(s, &m, &pc, 1, &py, 1, &a, &st), 0);
	ck_assert_int_eq(st.nframes, 2);
	stack_frame_format(&st.frames[0], &b);
	buf_puts(&b, "|");
	stack_frame_format(&st.frames[1], &b);
	ck_assert_str_eq(buf_str(&b), "python t.py:3 in f|native libgone.so ? +0x234");
	{
		/* fingerprints: stable, 12 hex digits, split by the place it hung */
		const char *fp1 = stack_fingerprint(&st, &a), *fp2 = stack_fingerprint(&st, &a);
		struct fh_stack other = st;
		struct fh_stack_frame fr[2] = { st.frames[0], st.frames[1] };
		other.frames = fr;
		fr[0].line = 4;
		ck_assert_int_eq(strlen(fp1), 12);
		ck_assert_str_eq(fp1, fp2);
		ck_assert_str_ne(fp1, stack_fingerprint(&other, &a));
		fr[0].line = 3;
		ck_assert_str_eq(fp1, stack_fingerprint(&other, &a));
		fr[1].addr = 0x235;
		ck_assert_str_ne(fp1, stack_fingerprint(&other, &a));
		other.nframes = 0;
		ck_assert_ptr_null(stack_fingerprint(&other, &a));
	}
	buf_free(&b);
	symbolizer_free(s);
	modmap_free(&m);
	arena_free(&a);
}
END_TEST


/* The whole path: a -g program under the real preload, its trace read back by trace_load()
 * and its stack symbolized by symbolize_event_stack() as the evidence stage does. */
START_TEST(test_event_stack_under_preload)
{
	char exe[PATH_MAX], dir[] = "/tmp/fh-test-symbolize-XXXXXX", cmd[4 * PATH_MAX], line[256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *want[3] = { "inner", "outer", "main" };
	int lines[3] = { 0, 0, 0 };
	struct fh_run run;
	struct run_syms *syms;
	char **paths = NULL;
	size_t npaths = 0, found = 0;
	char tdir[PATH_MAX + 8];
	FILE *f;

	ck_assert(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(tdir, sizeof(tdir), "%s/trace", dir);
	ck_assert_int_eq(mkdir(tdir, 0755), 0);
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s/../libfhtrace.so FH_TRACE_DIR=%s %s/preload/stack_sleep",
		 exe, tdir, exe);
	f = popen(cmd, "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		int ln;
		if (sscanf(line, "line %31s %d", name, &ln) == 2)
			for (int i = 0; i < 3; i++)
				if (!strcmp(name, want[i]))
					lines[i] = ln;
	}
	ck_assert_int_eq(pclose(f), 0);

	memset(&run, 0, sizeof(run));
	run.run_dir = dir;
	syms = run_syms_new(&run);
	ck_assert_int_eq(trace_list(tdir, &paths, &npaths), 0);
	ck_assert_int_ge(npaths, 1);
	for (size_t i = 0; i < npaths; i++) {
		struct fh_trace_file tf;
		ck_assert_int_eq(trace_load(paths[i], &tf), 0);
		for (size_t e = 0; e < tf.nevents; e++) {
			const struct fh_event *ev = &tf.events[e];
			struct fh_stack st;
			size_t k = 0;
			if (ev->type != FH_EV_CALL || ev->nstack == 0)
				continue;
			ck_assert_str_eq(ev->call_name, "nanosleep");
			ck_assert_int_eq(ev->npystack, 0);
			/* with the trace file, and (as evidence.c may) with only the run dir */
			for (int mode = 0; mode < 2; mode++) {
				ck_assert_int_eq(symbolize_event_stack(syms, mode ? NULL : &tf, ev, &st), 0);
				ck_assert_int_ge(st.nframes, 4);
				/* frame 0: the libc function the thread was blocked in */
				ck_assert_str_eq(st.frames[0].module, "libc.so.6");
				ck_assert_msg(strstr(st.frames[0].function, "nanosleep") != NULL, "%s",
					      st.frames[0].function);
				for (k = 1; k < 4; k++) {
					ck_assert_str_eq(st.frames[k].module, "stack_sleep");
					ck_assert_str_eq(st.frames[k].function, want[k - 1]);
					ck_assert(ends_with(st.frames[k].path, "stack_sleep.c"));
					ck_assert_int_eq(st.frames[k].line, lines[k - 1]);
				}
			}
			found++;
		}
		trace_free(&tf);
		free(paths[i]);
	}
	free(paths);
	ck_assert_int_eq(found, 1);
	run_syms_free(syms);
	arena_free(&run.arena);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *symbolize_suite(void)
{
	Suite *s = suite_create("symbolize");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_c_program_dwarf_lines);
	tcase_add_test(tc, test_changed_binary_detected);
	tcase_add_test(tc, test_modmap_hostile);
	tcase_add_test(tc, test_modmap_overlaps_match_the_last_line_rule);
	tcase_add_test(tc, test_missing_file_and_format);
	tcase_add_test(tc, test_event_stack_under_preload);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(symbolize_suite());
}
