/* SPDX-License-Identifier: MIT */
/*
 * pytest-flakehunter 1.0.1 history files (history_seed.h): their names, their conversion into
 * this tool's columns, reading them for trends and `fh-analyze history import`.
 */
#include "history_seed.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "escape.h"
#include "files.h"
#include "history.h"
#include "hmap.h"
#include "numfmt.h"
#include "redact.h"

#define SEED_MAX_CELL 8192      /* bytes kept of one converted cell */
#define SEED_NAME_MAX 180       /* characters before the seed shortens a name */
#define SEED_NAME_KEEP 120

/* ---- MD5 (RFC 1321): only to name the seed's long files ---- */

static uint32_t rol(uint32_t x, unsigned s)
{
	return (x << s) | (x >> (32 - s));
}

static void md5_block(uint32_t h[4], const unsigned char *p)
{
	static const unsigned char S[64] = {
		7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
		5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
		4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
		6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
	};
	static uint32_t K[64];
	uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
	int i;

	if (!K[0]) /* floor(|sin(i + 1)| * 2^32), exact in double precision for all 64 */
		for (i = 0; i < 64; i++)
			K[i] = (uint32_t)(fabs(sin((double)i + 1)) * 4294967296.0);
	for (i = 0; i < 16; i++)
		m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		uint32_t f;
		int g;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		f += a + K[i] + m[g];
		a = d;
		d = c;
		c = b;
		b += rol(f, S[i]);
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

void seed_md5_hex(const void *data, size_t n, char hex[33])
{
	uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
	const unsigned char *p = data;
	unsigned char tail[128], dig[16];
	uint64_t bits = (uint64_t)n * 8;
	size_t rest, tn, i;

	for (; n >= 64; n -= 64, p += 64)
		md5_block(h, p);
	rest = n;
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p, rest);
	tail[rest] = 0x80;
	tn = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tn - 8 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(h, tail);
	if (tn == 128)
		md5_block(h, tail + 64);
	for (i = 0; i < 16; i++)
		dig[i] = (unsigned char)(h[i / 4] >> (8 * (i % 4)));
	hex_encode(dig, sizeof(dig), hex);
}

/* ---- file names ---- */

void seed_file_name(struct buf *b, const char *nodeid)
{
	struct buf safe = BUF_INIT(1u << 20);
	size_t chars = 0, i;

	for (i = 0; nodeid[i]; i++) {
		if (nodeid[i] == ':' && nodeid[i + 1] == ':') {
			buf_puts(&safe, "__");
			i++;
		} else if (nodeid[i] == '/' || nodeid[i] == '\\') {
			buf_putc(&safe, '_');
		} else {
			buf_putc(&safe, nodeid[i]);
		}
	}
	/* Python counts characters (code points), not bytes. */
	for (i = 0; i < buf_len(&safe); i++)
		chars += ((unsigned char)buf_str(&safe)[i] & 0xc0) != 0x80;
	if (chars > SEED_NAME_MAX) {
		char hex[33];
		size_t keep = 0, n = 0;

		for (i = 0; i < buf_len(&safe); i++) {
			if (((unsigned char)buf_str(&safe)[i] & 0xc0) != 0x80 && n++ == SEED_NAME_KEEP)
				break;
			keep = i + 1;
		}
		seed_md5_hex(nodeid, strlen(nodeid), hex);
		buf_add(b, buf_str(&safe), keep);
		buf_printf(b, "__%.8s", hex);
	} else {
		buf_puts(b, buf_str(&safe));
	}
	buf_puts(b, ".csv");
	buf_free(&safe);
}

/* ---- conversion ---- */

enum {
	S_RUN, S_TS, S_VER, S_HOST, S_OSN, S_OSV, S_PY, S_PT, S_CPU, S_RAM, S_BR, S_CO, S_DI,
	S_NODE, S_FILE, S_FUNC, S_PARAM, S_FIX, S_RUNS, S_ATT, S_OUT, S_DUR, S_SET, S_CALL, S_TD,
	S_ETYPE, S_EMSG, S_EMSG2, S_FFUNC, S_FFILE, S_FLINE, S_FP, S_DEPTH, S_NCOL
};
static const char *const seed_cols[S_NCOL] = {
	"run_id", "timestamp_utc", "flakehunter_version", "hostname", "os_name", "os_version",
	"python_version", "pytest_version", "cpu_count", "ram_total_gb", "git_branch", "git_commit",
	"git_dirty", "nodeid", "test_file", "test_function", "parametrize_id", "fixture_names",
	"total_runs_requested", "attempt", "outcome", "total_duration_s", "setup_duration_s",
	"call_duration_s", "teardown_duration_s", "error_type", "error_msg", "error_message",
	"failure_function", "failure_file", "failure_lineno", "traceback_fingerprint",
	"failure_depth",
};

static void seed_warn(struct buf *warn, const char *fmt, ...) FH_PRINTF(2, 3);

static void seed_warn(struct buf *warn, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (warn)
		buf_printf(warn, "%s\n", line);
	else
		warning("%s", line);
}

/* A duration or size: a finite number >= 0 below 1e12. */
static bool parse_num(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v >= 1e12)
		return false;
	*out = v;
	return true;
}

/* "2026-01-05T10:20:30+00:00" (Python's isoformat) -> "2026-01-05T10:20:30Z"; a fraction is
 * dropped; anything else is kept as it is. */
static void put_timestamp(struct buf *b, const char *s)
{
	size_t i;

	for (i = 0; i < 19; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : 0;

		if (want ? s[i] != want : !digit)
			break;
	}
	if (i == 19) {
		const char *z = s + 19;

		if (*z == '.')
			for (z++; *z >= '0' && *z <= '9'; z++)
				;
		if (!strcmp(z, "+00:00") || !strcmp(z, "Z") || !*z) {
			buf_add(b, s, 19);
			buf_putc(b, 'Z');
			return;
		}
	}
	buf_puts(b, s);
}

static bool outcome_known(const char *s)
{
	return !strcmp(s, "passed") || !strcmp(s, "failed") || !strcmp(s, "error") ||
	       !strcmp(s, "skipped");
}

struct conv {
	int idx[S_NCOL];
	char **names;           /* this tool's columns */
	size_t nnames;
	struct buf row, val;
};

static const char *cell_of(const struct fh_csv *c, const struct conv *cv, int col)
{
	return cv->idx[col] >= 0 ? csv_cell(c, cv->idx[col]) : "";
}

/* How each of this tool's columns comes from a seed row; columns not listed (worker, isolate,
 * and those added later) are unknown for the seed's rows and stay empty. */
enum seed_conv {
	CV_COPY, CV_UINT, CV_SECONDS, CV_TIMESTAMP, CV_VERSION, CV_OS, CV_RAM, CV_DIRTY,
	CV_FIXTURES, CV_TYPE, CV_MESSAGE
};

static const struct seed_map {
	const char *name;       /* our column */
	enum seed_conv conv;
	int col;                /* the seed's (S_*) */
} seed_map[] = {
	{ "run_id", CV_COPY, S_RUN },            { "timestamp_utc", CV_TIMESTAMP, S_TS },
	{ "flakehunter_version", CV_VERSION, S_VER }, { "hostname", CV_COPY, S_HOST },
	{ "os", CV_OS, S_OSN },                  { "python_version", CV_COPY, S_PY },
	{ "pytest_version", CV_COPY, S_PT },     { "cpu_count", CV_UINT, S_CPU },
	{ "ram_bytes", CV_RAM, S_RAM },          { "git_branch", CV_COPY, S_BR },
	{ "git_commit", CV_COPY, S_CO },         { "git_dirty", CV_DIRTY, S_DI },
	{ "nodeid", CV_COPY, S_NODE },           { "file", CV_COPY, S_FILE },
	{ "function", CV_COPY, S_FUNC },         { "param_id", CV_COPY, S_PARAM },
	{ "fixtures", CV_FIXTURES, S_FIX },      { "runs_requested", CV_UINT, S_RUNS },
	{ "attempt", CV_COPY, S_ATT },           { "outcome", CV_COPY, S_OUT },
	{ "duration_s", CV_SECONDS, S_DUR },     { "setup_s", CV_SECONDS, S_SET },
	{ "call_s", CV_SECONDS, S_CALL },        { "teardown_s", CV_SECONDS, S_TD },
	{ "error_type", CV_TYPE, S_ETYPE },      { "error_message", CV_MESSAGE, S_EMSG },
	{ "failure_function", CV_COPY, S_FFUNC }, { "failure_file", CV_COPY, S_FFILE },
	{ "failure_line", CV_UINT, S_FLINE },    { "fingerprint", CV_COPY, S_FP },
	{ "failure_depth", CV_UINT, S_DEPTH },
};

/* The value of our column `name` for the current seed row, appended to v. */
static void our_value(struct buf *v, const char *name, const struct fh_csv *c,
		      const struct conv *cv)
{
	const struct seed_map *m = NULL;
	const char *s;
	long n;
	double d;

	for (size_t k = 0; k < ARRAY_SIZE(seed_map) && !m; k++)
		if (!strcmp(seed_map[k].name, name))
			m = &seed_map[k];
	if (!m)
		return;
	s = cell_of(c, cv, m->col);
	switch (m->conv) {
	case CV_COPY:
		buf_puts(v, s);
		break;
	case CV_UINT:
		if (parse_uint(s, &n))
			buf_int(v, n);
		break;
	case CV_SECONDS:
		if (parse_num(s, &d))
			buf_puts(v, s);
		break;
	case CV_TIMESTAMP:
		put_timestamp(v, s);
		break;
	case CV_VERSION:
		buf_printf(v, "pytest-flakehunter%s%s", *s ? "/" : "", s);
		break;
	case CV_OS:
		buf_puts(v, s);
		if (*s && *cell_of(c, cv, S_OSV))
			buf_putc(v, '-');
		buf_puts(v, cell_of(c, cv, S_OSV));
		break;
	case CV_RAM:
		if (parse_num(s, &d))
			buf_int(v, llround(d * 1e9));
		break;
	case CV_DIRTY:
		if (!strcmp(s, "true") || !strcmp(s, "false"))
			buf_puts(v, s);
		break;
	case CV_FIXTURES:
		for (; *s; s++)
			buf_putc(v, *s == ',' ? ';' : *s);
		break;
	case CV_TYPE:
	case CV_MESSAGE:
		if (m->conv == CV_MESSAGE && !*s)
			s = cell_of(c, cv, S_EMSG2);
		redact(v, s, NULL); /* as our own records are: a message may hold a secret */
		break;
	}
}

static void conv_free(struct conv *cv)
{
	for (size_t i = 0; i < cv->nnames; i++)
		free(cv->names[i]);
	free(cv->names);
	buf_free(&cv->row);
	buf_free(&cv->val);
}

/* Our column names, from history_header(). */
static void our_columns(struct conv *cv)
{
	struct buf h = BUF_INIT(1 << 16);
	struct fh_csv c;
	size_t cap = 0;

	history_header(&h);
	csv_init(&c, buf_str(&h), buf_len(&h));
	if (csv_row(&c) == 1) {
		for (size_t i = 0; i < c.ncells; i++) {
			GROW(cv->names, cap, cv->nnames + 1);
			cv->names[cv->nnames++] = xstrdup(csv_cell(&c, (int)i));
		}
	}
	csv_free(&c);
	buf_free(&h);
}

int seed_convert(const char *name, const char *data, size_t len, const char *only_nodeid,
		 seed_row_fn fn, void *ctx, struct buf *warn)
{
	struct conv cv;
	struct fh_csv c;
	size_t ncols, i;
	int r, k, given = 0;

	memset(&cv, 0, sizeof(cv));
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) { /* a spreadsheet's byte order mark */
		data += 3;
		len -= 3;
	}
	csv_init(&c, data, len);
	if (csv_row(&c) != 1) {
		csv_free(&c);
		return -EINVAL;
	}
	ncols = c.ncells;
	for (k = 0; k < S_NCOL; k++) {
		cv.idx[k] = -1;
		for (i = 0; i < c.ncells; i++)
			if (!strcmp(csv_cell(&c, (int)i), seed_cols[k]))
				cv.idx[k] = (int)i;
	}
	for (i = 0; i < c.ncells && strcmp(csv_cell(&c, (int)i), "duration_s"); i++)
		;
	if (cv.idx[S_RUN] < 0 || cv.idx[S_ATT] < 0 || cv.idx[S_OUT] < 0 || cv.idx[S_DUR] < 0 ||
	    i < c.ncells) {
		csv_free(&c);
		return -EINVAL;
	}
	our_columns(&cv);
	buf_init(&cv.row, 1u << 20);
	buf_init(&cv.val, 1u << 20);
	while ((r = csv_row(&c)) != 0) {
		const char *why, *nodeid = "";
		bool blank;
		long attempt;

		why = csv_row_problem(&c, r, ncols, &blank);
		if (blank)
			continue;
		if (!why) {
			if (!*cell_of(&c, &cv, S_RUN))
				why = "empty run_id";
			else if (!parse_uint(cell_of(&c, &cv, S_ATT), &attempt) || attempt < 1)
				why = "bad attempt number";
			else if (!outcome_known(cell_of(&c, &cv, S_OUT)))
				why = "unknown outcome";
			else if (!*(nodeid = cell_of(&c, &cv, S_NODE)) && !only_nodeid)
				why = "empty nodeid";
		}
		if (why) {
			seed_warn(warn, "%s:%u: corrupt pytest-flakehunter history row (%s); skipped",
				  name, c.line, why);
			if (r < 0 || c.ncells != ncols)
				csv_resync(&c);
			continue;
		}
		if (!*nodeid)
			nodeid = only_nodeid;
		if (only_nodeid && strcmp(nodeid, only_nodeid))
			continue; /* another test whose name maps to the same file */
		buf_reset(&cv.row);
		for (i = 0; i < cv.nnames; i++) {
			buf_reset(&cv.val);
			if (!strcmp(cv.names[i], "nodeid"))
				buf_puts(&cv.val, nodeid);
			else
				our_value(&cv.val, cv.names[i], &c, &cv);
			buf_truncate_utf8(&cv.val, SEED_MAX_CELL);
			buf_csv_cell(&cv.row, buf_str(&cv.val));
			buf_putc(&cv.row, i + 1 < cv.nnames ? ',' : '\n');
		}
		if (buf_failed(&cv.row))
			continue;
		if (fn(ctx, nodeid, cell_of(&c, &cv, S_RUN), buf_str(&cv.row), buf_len(&cv.row)))
			given++;
	}
	csv_free(&c);
	conv_free(&cv);
	return given;
}

/* ---- run ids already in one of our files ---- */

/* A set of run ids (owned copies) on the core's hash map. */
struct idset {
	struct hmap map;
};

static bool idset_has(const struct idset *s, const char *k)
{
	size_t unused;

	return hmap_str_get(&s->map, k, &unused);
}

static void idset_add(struct idset *s, const char *k)
{
	bool added;
	struct hmap_slot *slot = hmap_str(&s->map, k, true, &added);

	if (added)
		slot->key = xstrdup(k);
}

static void idset_free(struct idset *s)
{
	for (size_t i = 0; i < s->map.cap; i++)
		if (s->map.slots[i].used)
			free((char *)s->map.slots[i].key);
	hmap_free(&s->map);
}

/* The run ids of one of our history files (rows are not checked here: the trend reader warns
 * about them). */
static void our_run_ids(const char *data, size_t len, struct idset *ids)
{
	struct fh_csv c;
	int idx = -1, r;

	if (!data)
		return;
	csv_init(&c, data, len);
	if (csv_row(&c) == 1)
		for (size_t i = 0; i < c.ncells; i++)
			if (!strcmp(csv_cell(&c, (int)i), "run_id"))
				idx = (int)i;
	while (idx >= 0 && (r = csv_row(&c)) != 0) {
		if (r < 0)
			break;
		if (*csv_cell(&c, idx))
			idset_add(ids, csv_cell(&c, idx));
	}
	csv_free(&c);
}

/* ---- reading for trends ---- */

struct read_ctx {
	struct idset ours;
	struct buf *out;
};

static bool keep_for_trend(void *p, const char *nodeid, const char *run_id, const char *row,
			   size_t len)
{
	struct read_ctx *rc = p;

	(void)nodeid;
	if (idset_has(&rc->ours, run_id))
		return false; /* imported already: ours has it */
	buf_add(rc->out, row, len);
	return true;
}

int history_seed_read(const char *dir, const char *nodeid, const char *ours, size_t ours_len,
		      struct buf *out, struct buf *name, struct buf *warn)
{
	struct read_ctx rc = { { HMAP_INIT }, out };
	char *data;
	size_t len;
	int r, n;

	buf_reset(name);
	buf_printf(name, "%s/", dir);
	seed_file_name(name, nodeid);
	r = read_file(buf_str(name), FH_HISTORY_MAX_FILE, &data, &len);
	if (r) {
		if (r != -ENOENT && r != -ENAMETOOLONG)
			seed_warn(warn, "%s: cannot read pytest-flakehunter history: %s",
				  buf_str(name), fh_strerror(r));
		return 0;
	}
	our_run_ids(ours, ours_len, &rc.ours);
	history_header(out);
	n = seed_convert(buf_str(name), data, len, nodeid, keep_for_trend, &rc, warn);
	if (n <= 0)
		buf_reset(out);
	idset_free(&rc.ours);
	free(data);
	return n < 0 ? 0 : n;
}

/* ---- import ---- */

struct target {
	char *nodeid;
	char *path;
	struct idset present;   /* run ids the file held before this import */
	struct buf rows;
	int nrows;
};

struct import_ctx {
	const char *dir;
	struct target *t;
	size_t n, cap;
	struct hmap index;      /* nodeid -> index into t */
	int rows, already;
};

static struct target *target_of(struct import_ctx *ic, const char *nodeid)
{
	bool added;
	struct hmap_slot *slot = hmap_str(&ic->index, nodeid, true, &added);
	struct target *t;

	if (!added)
		return &ic->t[slot->val];
	GROW(ic->t, ic->cap, ic->n + 1);
	t = &ic->t[ic->n];
	memset(t, 0, sizeof(*t));
	t->nodeid = xstrdup(nodeid);
	{
		struct buf p = BUF_INIT(PATH_MAX);
		char *data;
		size_t len;

		buf_printf(&p, "%s/", ic->dir);
		history_file_name(&p, nodeid);
		t->path = buf_detach(&p);
		if (read_file(t->path, FH_HISTORY_MAX_FILE, &data, &len) == 0) {
			our_run_ids(data, len, &t->present);
			free(data);
		}
	}
	buf_init(&t->rows, FH_HISTORY_MAX_FILE);
	slot->key = t->nodeid;
	slot->val = ic->n++;
	return t;
}

static bool import_row(void *p, const char *nodeid, const char *run_id, const char *row,
		       size_t len)
{
	struct import_ctx *ic = p;
	struct target *t = target_of(ic, nodeid);

	if (idset_has(&t->present, run_id)) {
		ic->already++;
		return false;
	}
	buf_add(&t->rows, row, len);
	t->nrows++;
	ic->rows++;
	return true;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int history_import(const char *dir)
{
	struct import_ctx ic;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int seed_files = 0, written = 0, status = 0;
	struct dirent *de;
	DIR *d;

	memset(&ic, 0, sizeof(ic));
	ic.dir = dir;
	d = opendir(dir);
	if (!d) {
		error("history import: cannot read '%s': %s", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".csv") && de->d_name[0] != '.') {
			GROW(names, cap, n + 1);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (i = 0; i < n; i++) {
		struct buf p = BUF_INIT(PATH_MAX);
		char *data;
		size_t len;
		int r;

		buf_printf(&p, "%s/%s", dir, names[i]);
		r = read_file(buf_str(&p), FH_HISTORY_MAX_FILE, &data, &len);
		if (r) {
			warning("%s: cannot read: %s; skipped", buf_str(&p), fh_strerror(r));
		} else {
			if (seed_convert(buf_str(&p), data, len, NULL, import_row, &ic, NULL) >= 0)
				seed_files++;
			free(data);
		}
		buf_free(&p);
		free(names[i]);
	}
	free(names);
	for (i = 0; i < ic.n; i++) {
		struct target *t = &ic.t[i];

		if (t->nrows) {
			int r = buf_failed(&t->rows) ? -ENOBUFS :
				history_append_csv(t->path, buf_str(&t->rows), buf_len(&t->rows));

			if (r) {
				error("history import: cannot append to %s: %s", t->path, strerror(-r));
				status = 1;
			} else {
				written++;
			}
		}
		free(t->nodeid);
		free(t->path);
		idset_free(&t->present);
		buf_free(&t->rows);
	}
	free(ic.t);
	hmap_free(&ic.index);
	printf("fh-analyze history import: %s: %d pytest-flakehunter files, %d rows imported into "
	       "%d test histories, %d rows already there; originals kept\n", dir, seed_files, ic.rows,
	       written, ic.already);
	return status;
}
