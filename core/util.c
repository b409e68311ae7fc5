/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers: diagnostics, struct buf, the model arena, escapers and small file helpers.
 * See util.h for the contracts.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fh_quiet;

int error(const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fh-analyze: error: %s\n", line);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	if (fh_quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fh-analyze: warning: %s\n", line);
}

static void oom(size_t n)
{
	fprintf(stderr, "fh-analyze: error: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

void grow_array(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;

	if (need <= *cap)
		return;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size)
		oom(SIZE_MAX);
	*p = xrealloc(*p, ncap * size);
	*cap = ncap;
}

/* ---- struct buf ---- */

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->failed = 0;
}

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;

	if (b->failed)
		return -ENOBUFS;
	if (extra > b->max || b->len + extra > b->max) {
		b->failed = 1;
		return -ENOBUFS;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	b->data = xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOBUFS;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap && !b->failed) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->failed = 1;
		return -EINVAL;
	}
	if (b->data && (size_t)n < b->cap - b->len && b->len + n <= b->max && !b->failed) {
		b->len += n;
		return 0;
	}
	if (buf_reserve(b, (size_t)n))
		return -ENOBUFS;
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

int buf_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p, *run;

	if (!s)
		return buf_puts(b, "null");
	buf_putc(b, '"');
	for (p = run = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		char u[7];

		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
				u[4] = hex[*p >> 4]; u[5] = hex[*p & 15]; u[6] = '\0';
				esc = u;
			} else if (*p == '<' || *p == '>') {
				/* Keeps "</script>" inert when the JSON is embedded in HTML. */
				u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
				u[4] = hex[*p >> 4]; u[5] = hex[*p & 15]; u[6] = '\0';
				esc = u;
			}
		}
		if (esc) {
			buf_add(b, run, (size_t)(p - run));
			buf_puts(b, esc);
			run = p + 1;
		}
	}
	buf_add(b, run, (size_t)(p - run));
	return buf_putc(b, '"');
}

int buf_html(struct buf *b, const char *s)
{
	const char *p, *run;

	if (!s)
		return 0;
	for (p = run = s; *p; p++) {
		const char *esc;

		switch (*p) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default: continue;
		}
		buf_add(b, run, (size_t)(p - run));
		buf_puts(b, esc);
		run = p + 1;
	}
	return buf_add(b, run, (size_t)(p - run));
}

int buf_csv_cell(struct buf *b, const char *s)
{
	int quote, lead;
	const char *p;

	if (!s)
		return 0;
	/* A leading apostrophe is escaped the same way, so a reader can strip exactly one
	 * apostrophe from every quoted cell that starts with one and get the value back. */
	lead = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
	       s[0] == '\r' || s[0] == '\'';
	/* A plain negative number is data, not a formula. */
	if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789.eE") == strlen(s + 1))
		lead = 0;
	quote = lead || strpbrk(s, ",\"\n\r") != NULL;
	if (!quote)
		return buf_puts(b, s);
	buf_putc(b, '"');
	if (lead)
		buf_putc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	return buf_putc(b, '"');
}

size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		goto bad;
	}
	if (n < len)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

int buf_utf8(struct buf *b, uint32_t cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(b, t, n);
}

int buf_int(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int buf_json_num(struct buf *b, double v)
{
	if (!isfinite(v))
		return buf_puts(b, "null");
	if (v == (double)(long long)v && fabs(v) < 1e15)
		return buf_printf(b, "%lld", (long long)v);
	return buf_printf(b, "%.6g", v);
}

/* ---- arena ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char mem[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = n > 65536 ? n : 65536;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		/* Large one-off blocks go behind the current chunk so it keeps filling. */
		if (a->head && n > 65536) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->total += size;
	}
	p = c->mem + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	if ((size_t)n < sizeof(small))
		return arena_strndup(a, small, (size_t)n);
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}

void arena_adopt(struct arena *dst, struct arena *src)
{
	struct arena_chunk *tail = src->head;

	if (!tail)
		return;
	while (tail->next)
		tail = tail->next;
	/* Behind dst's current chunk, which keeps filling. */
	if (dst->head) {
		tail->next = dst->head->next;
		dst->head->next = src->head;
	} else {
		dst->head = src->head;
	}
	dst->total += src->total;
	src->head = NULL;
	src->total = 0;
}

/* ---- files ---- */

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t cap, n = 0;
	int fd, ret = 0;

	*out = NULL;
	if (len)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out;
	}
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			if (cap > max) {
				ret = -EFBIG;
				goto out;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			data = xrealloc(data, cap);
		}
		r = read(fd, data + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = -EFBIG;
			goto out;
		}
	}
	data[n] = '\0';
	*out = data;
	data = NULL;
	if (len)
		*len = n;
out:
	free(data);
	close(fd);
	return ret;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	struct buf tmp = BUF_INIT(8192);
	const char *p = data;
	int fd, ret = 0;

	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			close(fd);
			unlink(buf_str(&tmp));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 || rename(buf_str(&tmp), path) < 0) {
		ret = -errno;
		unlink(buf_str(&tmp));
	}
out:
	buf_free(&tmp);
	return ret;
}

int buf_flush_fd(struct buf *b, int fd)
{
	const char *p = b->data;
	size_t n = b->len;

	if (fd < 0 || b->failed)
		return 0;
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	buf_reset(b);
	return 0;
}

int write_file_streamed(const char *path, size_t max,
			int (*render)(const void *ctx, struct buf *b, int fd), const void *ctx)
{
	struct buf b = BUF_INIT(max);
	struct buf tmp = BUF_INIT(8192);
	int fd, r;

	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (tmp.failed) {
		r = -ENAMETOOLONG;
		goto out;
	}
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = render(ctx, &b, fd);
	if (!r && b.failed)
		r = -ENOBUFS;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(buf_str(&tmp), path) < 0)
		r = -errno;
	if (r)
		unlink(buf_str(&tmp));
out:
	buf_free(&b);
	buf_free(&tmp);
	return r;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p, *s = xstrdup(path);
	int ret = 0;

	for (p = s + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(s, mode) < 0 && errno != EEXIST) {
				ret = -errno;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(s);
	return ret;
}

int fh_thread_count(int small, int max)
{
	const char *env = getenv("FH_THREADS");
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);

		if (!*end && v >= 1)
			n = v;
	}
	if (small || n < 1)
		n = 1;
	return n > max ? max : (int)n;
}

int mkdir_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (!slash || slash == path)
		return 0;
	dir = xstrdup(path);
	dir[slash - path] = '\0';
	r = mkdir_p(dir, 0755);
	free(dir);
	return r;
}

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t fnv64(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
