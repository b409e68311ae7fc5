/* SPDX-License-Identifier: MIT */
/*
 * The "trace" object of an attempt in the JSON summary (summary_int.h): where its time went,
 * its features, failed calls, signals, the last blocking call and its stack, calls in flight,
 * children, fd and thread counts, the hang snapshot (DESIGN.md's contract, plus additions).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "footprint.h"
#include "summary_int.h"

static void stack_frame(struct buf *b, const struct fh_stack_frame *f)
{
	buf_putc(b, '{');
	kstr(b, "kind", f->kind ? f->kind : "native");
	kstr(b, "module", f->module);
	kstr(b, "function", f->function);
	kstr(b, "path", f->path);
	key(b, "line");
	if (f->line > 0)
		buf_int(b, f->line);
	else
		buf_puts(b, "null");
	buf_putc(b, '}');
}

static void stack(struct buf *b, const struct fh_stack *s)
{
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < s->nframes; i++) {
		stack_frame(b, &s->frames[i]);
		buf_putc(b, ',');
	}
	close_with(b, ']');
}

static const char *cat_name(enum fh_category c)
{
	return (unsigned)c < FH_CAT_COUNT ? fh_category_names[c] : "other";
}

/* A wait of the hang snapshot: call, category, target, waited_s (DESIGN.md trace.hang). */
static void hang_wait(struct buf *b, const char *call, const char *syscall, enum fh_category cat,
		      bool on_socket, const char *target, double waited)
{
	kstr(b, "call", call ? call : syscall);
	kstr(b, "category", cat_name(fh_wait_category(cat, on_socket)));
	kstr(b, "target", target);
	key(b, "waited_s");
	if (waited >= 0)
		num(b, waited);
	else
		buf_puts(b, "null");
	buf_putc(b, ',');
	kstr(b, "syscall", syscall);
}

static void hang_obj(struct buf *b, const struct fh_hang *g)
{
	size_t i;

	buf_putc(b, '{');
	knum(b, "after_s", g->after_s);
	kstr(b, "by", g->by);
	knum(b, "limit_s", g->limit_s);
	key(b, "threads");
	buf_putc(b, '[');
	for (i = 0; i < g->nthreads; i++) {
		const struct fh_hang_thread *t = &g->threads[i];

		buf_putc(b, '{');
		kint(b, "pid", t->pid);
		kint(b, "tid", t->tid);
		kstr(b, "name", t->name);
		kbool(b, "main", t->main);
		hang_wait(b, t->call, t->syscall, t->category, t->on_socket, t->target, t->waited_s);
		key(b, "stack");
		stack(b, &t->stack);
		buf_putc(b, ',');
		key(b, "holder");
		if (t->holder) {
			const struct fh_hang_holder *ho = t->holder;

			buf_putc(b, '{');
			kint(b, "pid", ho->pid);
			kint(b, "tid", ho->tid);
			kstr(b, "name", ho->name);
			key(b, "since_s");
			if (ho->since_s >= 0)
				num(b, ho->since_s);
			else
				buf_puts(b, "null");
			buf_putc(b, ',');
			key(b, "stack");
			stack(b, &ho->stack);
			buf_putc(b, ',');
			key(b, "site");
			if (ho->site) {
				stack_frame(b, ho->site);
			} else {
				buf_puts(b, "null");
			}
			buf_putc(b, ',');
			kstr(b, "source", ho->source);
			key(b, "lock");
			buf_printf(b, "\"0x%llx\",", (unsigned long long)ho->lock);
			close_with(b, '}');
		} else {
			buf_puts(b, "null");
		}
		buf_puts(b, "},");
	}
	close_with(b, ']');
	buf_putc(b, ',');
	key(b, "children");
	buf_putc(b, '[');
	for (i = 0; i < g->nchildren; i++) {
		const struct fh_hang_child *c = &g->children[i];

		buf_putc(b, '{');
		kint(b, "pid", c->pid);
		kint(b, "tid", c->tid);
		kstr(b, "exe", c->exe);
		kstr(b, "argv0", c->argv0);
		hang_wait(b, c->call, c->syscall, c->category, c->on_socket, c->target, c->waited_s);
		key(b, "stack");
		stack(b, &c->stack);
		buf_puts(b, "},");
	}
	close_with(b, ']');
	buf_putc(b, ',');
	kbool(b, "deadlock", g->deadlock);
	key(b, "cycle");
	buf_putc(b, '[');
	for (i = 0; i < g->ncycle; i++) {
		if (i)
			buf_putc(b, ',');
		buf_int(b, g->threads[g->cycle[i]].tid);
	}
	buf_puts(b, "],");
	kstr(b, "sentence", g->sentence);
	close_with(b, '}');
}

void summary_trace_obj(struct buf *b, const struct fh_attempt_trace *tr,
		       const struct fh_features *feat, const struct fh_footprint *foot)
{
	size_t i;
	int c;

	key(b, "trace");
	buf_putc(b, '{');
	knum(b, "cpu_s", tr->cpu_s);
	knum(b, "cpu_attempt_s", tr->cpu_attempt_s);
	key(b, "time_s");
	buf_putc(b, '{');
	for (c = 0; c < FH_CAT_COUNT; c++)
		knum(b, fh_category_names[c], tr->time_s[c]);
	close_with(b, '}');
	buf_putc(b, ',');

	key(b, "errors");
	buf_putc(b, '[');
	for (i = 0; i < tr->nerrors; i++) {
		const struct fh_err_count *e = &tr->errors[i];

		buf_putc(b, '{');
		kstr(b, "call", e->call);
		kstr(b, "errno", e->errno_name);
		kint(b, "count", e->count);
		kstr(b, "target", e->target);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');

	key(b, "signals");
	buf_putc(b, '[');
	for (i = 0; i < tr->nsignals; i++) {
		const struct fh_signal_ev *s = &tr->signals[i];

		buf_putc(b, '{');
		kstr(b, "signal", s->signal);
		knum(b, "at_s", s->at_s);
		key(b, "sender_pid");
		if (s->sender_pid)
			buf_int(b, s->sender_pid);
		else
			buf_puts(b, "null");
		buf_putc(b, ',');
		kstr(b, "from", s->from);
		kbool(b, "session", s->session);
		kstr(b, "interrupted", s->interrupted);
		if (s->stack.nframes) {
			key(b, "stack");
			stack(b, &s->stack);
			buf_putc(b, ',');
		}
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');

	key(b, "last_block");
	if (tr->last_block) {
		const struct fh_block *lb = tr->last_block;

		buf_putc(b, '{');
		kstr(b, "call", lb->call);
		kstr(b, "category", cat_name(lb->category));
		kstr(b, "target", lb->target);
		knum(b, "start_s", lb->start_s);
		knum(b, "waited_s", lb->waited_s);
		kstr(b, "ended", (unsigned)lb->ended < FH_END_COUNT ?
			 fh_block_end_names[lb->ended] : "returned");
		kstr(b, "errno", lb->errno_name);
		kint(b, "pid", lb->pid);
		kint(b, "tid", lb->tid);
		key(b, "stack");
		stack(b, &lb->stack);
		buf_puts(b, "},");
	} else {
		buf_puts(b, "null,");
	}
	kstr(b, "blocked_on", fh_blocked_on_names[feat->blocked_on]);

	key(b, "in_flight");
	buf_putc(b, '[');
	for (i = 0; i < tr->nin_flight; i++) {
		const struct fh_inflight *f = &tr->in_flight[i];

		buf_putc(b, '{');
		kint(b, "pid", f->pid);
		kint(b, "tid", f->tid);
		kstr(b, "call", f->call);
		kstr(b, "category", cat_name(f->category));
		kstr(b, "target", f->target);
		knum(b, "elapsed_s", f->elapsed_s);
		if (f->stack.nframes) {
			key(b, "stack");
			stack(b, &f->stack);
			buf_putc(b, ',');
		}
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');

	key(b, "children");
	buf_putc(b, '[');
	for (i = 0; i < tr->nchildren; i++) {
		const struct fh_child *c2 = &tr->children[i];

		buf_putc(b, '{');
		kint(b, "pid", c2->pid);
		kstr(b, "exe", c2->exe);
		key(b, "exit_code");
		if (c2->exit_code >= 0)
			buf_int(b, c2->exit_code);
		else
			buf_puts(b, "null");
		buf_putc(b, ',');
		kstr(b, "signal", c2->signal);
		key(b, "duration_s");
		if (c2->duration_s >= 0)
			num(b, c2->duration_s);
		else
			buf_puts(b, "null");
		buf_puts(b, "},");
	}
	close_with(b, ']');
	buf_putc(b, ',');

	/* a child's /proc entry read empty right after starting it (race evidence) */
	key(b, "empty_proc_read");
	if (tr->empty_proc.path) {
		buf_putc(b, '{');
		kstr(b, "path", tr->empty_proc.path);
		kint(b, "pid", tr->empty_proc.pid);
		knum(b, "after_s", tr->empty_proc.after_s);
		close_with(b, '}');
	} else {
		buf_puts(b, "null");
	}
	buf_putc(b, ',');

	key(b, "resources");
	buf_putc(b, '{');
	key(b, "fds");
	if (tr->fds >= 0)
		buf_int(b, tr->fds);
	else
		buf_puts(b, "null");
	buf_putc(b, ',');
	key(b, "threads");
	if (tr->threads >= 0)
		buf_int(b, tr->threads);
	else
		buf_puts(b, "null");
	buf_puts(b, "},");
	kint(b, "events", (long long)tr->events);
	if (tr->background.threads) {
		const struct fh_background *bg = &tr->background;

		/* threads of the process that are not the attempt's (ownership.h): shown, never
		 * counted in its time, calls or in-flight calls */
		key(b, "background");
		buf_putc(b, '{');
		kint(b, "threads", bg->threads);
		knum(b, "time_s", bg->time_s);
		kstr(b, "call", bg->call);
		kstr(b, "category", bg->call ? cat_name(bg->category) : NULL);
		kstr(b, "target", bg->target);
		kstr(b, "started_during", bg->started_during);
		kstr(b, "started_phase", bg->started_phase);
		kstr(b, "fixture", bg->fixture);
		kstr(b, "fixture_scope", bg->fixture_scope);
		key(b, "started_by");
		buf_putc(b, '[');
		for (size_t k = 0; k < bg->norigins; k++) {
			const struct fh_bg_origin *o = &bg->origins[k];

			buf_putc(b, '{');
			kint(b, "threads", o->threads);
			knum(b, "time_s", o->time_s);
			kstr(b, "fixture", o->fixture);
			kstr(b, "fixture_scope", o->scope);
			kstr(b, "started_during", o->started_during);
			kstr(b, "started_phase", o->started_phase);
			kstr(b, "text", o->text);
			close_with(b, '}');
			buf_putc(b, ',');
		}
		close_with(b, ']');
		buf_putc(b, ',');
		kstr(b, "text", bg->text);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	if (tr->hang) {
		key(b, "hang");
		hang_obj(b, tr->hang);
		buf_putc(b, ',');
	}
	if (foot) {
		key(b, "footprint");
		footprint_json(b, foot);
		buf_putc(b, ',');
	}
	close_with(b, '}');
	buf_putc(b, ',');
}
