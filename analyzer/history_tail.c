/* SPDX-License-Identifier: MIT */
/*
 * Reading a history file that may be larger than the memory the analyzer gives it: the header
 * row and the newest complete rows that fit, with the count of the older rows left out. Rows
 * are appended in time order, so the newest rows are the file's last ones. One pass over the
 * bytes before the kept tail (in fixed-size chunks, never all in memory) finds the first row
 * boundary inside the budget: a newline outside a quoted cell (RFC 4180 quoting, where "" is
 * two toggles and so needs no special case).
 */
#include "history_tail.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

#define SCAN_CHUNK ((size_t)1 << 20)
#define MAX_HEADER ((size_t)64 << 10)

size_t history_max_bytes(void)
{
	const char *e = getenv("FH_HISTORY_MAX_MB");
	char *end;
	long mb = e ? strtol(e, &end, 10) : 0;

	if (!e || end == e || *end || mb < 1 || mb > (long)(FH_HISTORY_MAX_FILE >> 20))
		return FH_HISTORY_MAX_FILE;
	return (size_t)mb << 20;
}

/* Reads exactly n bytes at off (short only at end of file); -errno on failure. */
static ssize_t pread_all(int fd, char *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int history_read_newest(const char *path, size_t max, char **out, size_t *len,
			long long *left_out)
{
	struct stat st;
	char *data = NULL, *chunk = NULL;
	size_t hdr = 0, size, keep_from = 0, n;
	long long rows = 0;
	bool quoted = false, found = false;
	int fd, ret = 0;
	ssize_t r;

	*out = NULL;
	*len = 0;
	*left_out = 0;
	fd = open_read(path, &st);
	if (fd < 0)
		return fd;
	size = (size_t)st.st_size;
	if (size <= max) {
		close(fd);
		return read_file(path, max, out, len);
	}
	/* The header row: its columns name what the rows hold. */
	data = xmalloc(max + 1);
	r = pread_all(fd, data, size < MAX_HEADER ? size : MAX_HEADER, 0);
	if (r < 0) {
		ret = (int)r;
		goto out;
	}
	{
		const char *nl = memchr(data, '\n', (size_t)r);

		if (!nl || (size_t)(nl - data) + 1 >= max) {
			ret = -EFBIG; /* no header row within reach: nothing sensible to keep */
			goto out;
		}
		hdr = (size_t)(nl - data) + 1;
	}
	/* Row boundaries from the header to the first one at or after size - (max - hdr). */
	chunk = xmalloc(SCAN_CHUNK);
	for (size_t off = hdr; off < size && !found;) {
		size_t want = size - off < SCAN_CHUNK ? size - off : SCAN_CHUNK;

		r = pread_all(fd, chunk, want, (off_t)off);
		if (r <= 0) {
			ret = r < 0 ? (int)r : -EIO;
			goto out;
		}
		for (size_t i = 0; i < (size_t)r; i++) {
			if (chunk[i] == '"') {
				quoted = !quoted;
			} else if (chunk[i] == '\n' && !quoted) {
				rows++;
				if (off + i + 1 >= size - (max - hdr)) {
					keep_from = off + i + 1;
					found = true;
					break;
				}
			}
		}
		off += (size_t)r;
	}
	if (!found) {
		keep_from = size; /* no row fits (one row larger than the budget): keep the header */
		rows++;
	}
	n = size - keep_from;
	r = pread_all(fd, data + hdr, n, (off_t)keep_from);
	if (r < 0) {
		ret = (int)r;
		goto out;
	}
	data[hdr + (size_t)r] = '\0';
	*len = hdr + (size_t)r;
	*out = data;
	*left_out = rows;
	data = NULL;
out:
	free(chunk);
	free(data);
	close(fd);
	return ret;
}
