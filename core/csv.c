/* SPDX-License-Identifier: MIT */
/*
 * An RFC 4180 reader over a buffer (csv.h): csv_row() only finds the cells (spans into the
 * input); csv_cell() unescapes a cell into the row's scratch space the first time it is asked
 * for, so unused columns cost a scan only.
 */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void csv_init(struct fh_csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	c->line = c->next_line = 1;
}

void csv_free(struct fh_csv *c)
{
	free(c->span);
	free(c->scratch);
	c->span = NULL;
	c->scratch = NULL;
}

int csv_row(struct fh_csv *c)
{
	const char *p = c->p;

	if (p >= c->end)
		return 0;
	c->row_start = p;
	c->line = c->next_line;
	c->ncells = 0;
	c->used = 0;
	for (;;) {
		struct fh_csv_span *sp;

		if (c->ncells >= c->cap)
			GROW(c->span, c->cap, c->ncells + 1);
		sp = &c->span[c->ncells++];
		sp->s = p;
		sp->quoted = p < c->end && *p == '"';
		sp->copy = 0;
		if (sp->quoted) {
			p++;
			for (;;) {
				const char *q = memchr(p, '"', (size_t)(c->end - p));
				const char *nl;

				if (!q) {
					c->p = c->end;
					c->ncells = 0;
					return -EBADMSG;
				}
				for (nl = p; (nl = memchr(nl, '\n', (size_t)(q - nl))); nl++)
					c->next_line++;
				p = q + 1;
				if (p < c->end && *p == '"') {
					p++;
					continue;
				}
				break;
			}
		}
		while (p < c->end && *p != ',' && *p != '\n')
			p++;
		sp->n = (size_t)(p - sp->s);
		if (p >= c->end || *p == '\n') {
			if (p < c->end)
				p++;
			c->next_line++;
			c->p = p;
			break;
		}
		p++; /* ',' */
	}
	/* Unescaped cells are never longer than the row: one allocation per row at most. */
	if ((size_t)(c->p - c->row_start) + c->ncells + 1 > c->scratch_cap) {
		c->scratch_cap = (size_t)(c->p - c->row_start) + c->ncells + 1024;
		free(c->scratch);
		c->scratch = xmalloc(c->scratch_cap);
	}
	return 1;
}

void csv_resync(struct fh_csv *c)
{
	const char *nl;

	if (!c->row_start)
		return;
	nl = memchr(c->row_start, '\n', (size_t)(c->end - c->row_start));
	c->p = nl ? nl + 1 : c->end;
	c->next_line = c->line + 1;
	c->row_start = NULL;
}

const char *csv_cell(const struct fh_csv *cc, int idx)
{
	struct fh_csv *c = (struct fh_csv *)cc;
	struct fh_csv_span *sp;
	const char *p, *e;
	char *out, *start;

	if (idx < 0 || (size_t)idx >= c->ncells)
		return "";
	sp = &c->span[idx];
	if (sp->copy)
		return c->scratch + sp->copy - 1;
	start = out = c->scratch + c->used;
	p = sp->s;
	e = sp->s + sp->n;
	if (sp->quoted) {
		p++;
		while (p < e) {
			if (*p == '"') {
				if (p + 1 < e && p[1] == '"') {
					*out++ = '"';
					p += 2;
					continue;
				}
				p++;
				break;
			}
			*out++ = *p++;
		}
		/* Anything between the closing quote and the separator is kept verbatim. */
	}
	while (p < e)
		*out++ = *p++;
	if (sp->quoted && out > start && *start == '\'') {
		memmove(start, start + 1, (size_t)(out - start - 1));
		out--;
	}
	if ((size_t)idx + 1 == c->ncells && out > start && out[-1] == '\r')
		out--;
	*out++ = '\0';
	sp->copy = (size_t)(start - c->scratch) + 1;
	c->used = (size_t)(out - c->scratch);
	return start;
}

const char *csv_row_problem(const struct fh_csv *c, int r, size_t ncols, bool *blank)
{
	*blank = false;
	if (r < 0)
		return "unterminated quote";
	if (c->ncells == 1 && !*csv_cell(c, 0)) {
		*blank = true;
		return NULL;
	}
	if (c->ncells != ncols)
		return "wrong number of cells";
	return NULL;
}
