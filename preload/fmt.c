/* SPDX-License-Identifier: MIT */
/*
 * Small async-signal-safe helpers of the preload (fhtrace_int.h): lengths, copies, decimal
 * numbers and socket addresses into fixed buffers, without libc's locale or malloc; directory
 * listings with raw syscalls.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fhtrace_int.h"

size_t fh_strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

size_t fh_strlcpy(char *out, size_t cap, const char *s)
{
	size_t n = fh_strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = 0;
	return n;
}

size_t fh_fmt_long(char *out, size_t cap, long v)
{
	char tmp[24];
	size_t n = 0, o = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0 && o + 1 < cap)
		out[o++] = '-';
	while (n && o + 1 < cap)
		out[o++] = tmp[--n];
	out[o] = 0;
	return o;
}

size_t fh_cat(char *out, size_t cap, size_t o, const char *s)
{
	while (*s && o + 1 < cap)
		out[o++] = *s++;
	out[o] = 0;
	return o;
}

static size_t put_hex16(char *out, size_t cap, size_t o, unsigned v)
{
	static const char hx[] = "0123456789abcdef";
	char tmp[5];
	int n = 0;
	do {
		tmp[n++] = hx[v & 15];
		v >>= 4;
	} while (v);
	while (n && o + 1 < cap)
		out[o++] = tmp[--n];
	out[o] = 0;
	return o;
}

static size_t fmt_in6(char *out, size_t cap, size_t o, const unsigned char *a)
{
	unsigned g[8];
	int best = -1, bestlen = 0;
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > bestlen && j - i > 1) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	if (best == 0 && bestlen == 5 && g[5] == 0xffff) { /* v4-mapped */
		char n[8];
		o = fh_cat(out, cap, o, "::ffff:");
		for (int i = 12; i < 16; i++) {
			fh_fmt_long(n, sizeof(n), a[i]);
			o = fh_cat(out, cap, o, n);
			if (i < 15)
				o = fh_cat(out, cap, o, ".");
		}
		return o;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			o = fh_cat(out, cap, o, "::");
			i += bestlen - 1;
			continue;
		}
		if (i && i != best + bestlen)
			o = fh_cat(out, cap, o, ":");
		o = put_hex16(out, cap, o, g[i]);
	}
	return o;
}

size_t fh_fmt_sockaddr(char *out, size_t cap, const struct sockaddr *sa, socklen_t len)
{
	char n[24];
	size_t o = 0;
	out[0] = 0;
	if (!sa || len < sizeof(sa_family_t))
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s = (const void *)sa;
		const unsigned char *a = (const void *)&s->sin_addr;
		for (int i = 0; i < 4; i++) {
			fh_fmt_long(n, sizeof(n), a[i]);
			o = fh_cat(out, cap, o, n);
			o = fh_cat(out, cap, o, i < 3 ? "." : ":");
		}
		fh_fmt_long(n, sizeof(n), ntohs(s->sin_port));
		return fh_cat(out, cap, o, n);
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s = (const void *)sa;
		o = fh_cat(out, cap, o, "[");
		o = fmt_in6(out, cap, o, (const unsigned char *)&s->sin6_addr);
		o = fh_cat(out, cap, o, "]:");
		fh_fmt_long(n, sizeof(n), ntohs(s->sin6_port));
		return fh_cat(out, cap, o, n);
	}
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *s = (const void *)sa;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
			len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (plen > sizeof(s->sun_path))
			plen = sizeof(s->sun_path);
		o = fh_cat(out, cap, o, "unix:");
		if (plen && s->sun_path[0] == 0) {
			o = fh_cat(out, cap, o, "@");
			for (size_t i = 1; i < plen && o + 1 < cap; i++)
				out[o++] = s->sun_path[i] ? s->sun_path[i] : '@';
			out[o] = 0;
			return o;
		}
		for (size_t i = 0; i < plen && s->sun_path[i] && o + 1 < cap; i++)
			out[o++] = s->sun_path[i];
		out[o] = 0;
		return o;
	}
	o = fh_cat(out, cap, o, "family ");
	fh_fmt_long(n, sizeof(n), sa->sa_family);
	return fh_cat(out, cap, o, n);
}

int fh_each_dirent(const char *path, void (*fn)(const char *name, int dfd, void *arg), void *arg)
{
	char buf[2048];
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		long k = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (long o = 0; o < k;) {
			struct dirent64 *d = (struct dirent64 *)(buf + o);
			if (d->d_reclen == 0)
				break;
			if (d->d_name[0] != '.')
				fn(d->d_name, (int)fd, arg);
			o += d->d_reclen;
		}
	}
	syscall(SYS_close, fd);
	return 0;
}

long fh_parse_id(const char *s, long max)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v >= max)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < max ? v : -1;
}
