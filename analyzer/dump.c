/* SPDX-License-Identifier: MIT */
/*
 * `fh-analyze dump FILE...`: trace files as strace-like text, one event per line, one section
 * (header line) per thread, stacks symbolized under their events. Reads through the core's
 * trace reader (trace.h); symbolizes with libdw (symbolize.h), which is why it is not core.
 */
#include "dump.h"

#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fhtrace_format.h"
#include "files.h"
#include "modmap_read.h"
#include "stackfmt.h"
#include "symbolize.h"
#include "trace.h"

static const char *const mark_names[] = {
	"attempt_begin", "attempt_end", "phase_begin", "phase_end"
};

struct trace_stack_printer {
	struct fh_symbolizer *sym;
	struct fh_modmap map;
	bool have_map;
	struct arena arena;
};

static struct trace_stack_printer *trace_stack_printer_new(const char *trace_path, int pid)
{
	struct trace_stack_printer *p = xcalloc(1, sizeof(*p));
	const char *slash = strrchr(trace_path, '/');
	int dlen = slash ? (int)(slash - trace_path) : 1;
	char *path = path_printf("%.*s/%d.maps", dlen, slash ? trace_path : ".", pid);

	p->sym = symbolizer_new();
	if (path)
		p->have_map = modmap_load(path, &p->map, NULL) == 0;
	free(path);
	return p;
}

static void trace_stack_print(struct trace_stack_printer *p, FILE *out, const struct fh_event *ev)
{
	struct fh_stack st;
	struct buf b = BUF_INIT(1 << 16);

	if (ev->nstack <= 0 && ev->npystack <= 0)
		return;
	if (symbolize_stack(p->sym, p->have_map ? &p->map : NULL, ev->stack,
			    ev->nstack > 0 ? ev->nstack : 0, ev->pystack,
			    ev->npystack > 0 ? ev->npystack : 0, &p->arena, &st) < 0)
		return;
	for (size_t i = 0; i < st.nframes; i++) {
		buf_reset(&b);
		stack_frame_format(&st.frames[i], &b);
		fprintf(out, "    at %s\n", buf_str(&b));
	}
	buf_free(&b);
}

static void trace_stack_printer_free(struct trace_stack_printer *p)
{
	if (!p)
		return;
	symbolizer_free(p->sym);
	if (p->have_map)
		modmap_free(&p->map);
	arena_free(&p->arena);
	free(p);
}

static void put_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void put_sig(FILE *out, int sig)
{
	const char *n = (sig > 0 && sig < 65) ? sigabbrev_np(sig) : NULL;
	if (n)
		fprintf(out, "SIG%s", n);
	else
		fprintf(out, "signal %d", sig);
}

static void put_status(FILE *out, int64_t st)
{
	int s = (int)st;
	if (st < 0)
		return;
	if (WIFEXITED(s))
		fprintf(out, " {exited %d}", WEXITSTATUS(s));
	else if (WIFSIGNALED(s)) {
		fputs(" {killed ", out);
		put_sig(out, WTERMSIG(s));
		fputs(WCOREDUMP(s) ? " core}" : "}", out);
	} else
		fprintf(out, " {status 0x%x}", s);
}

/* What a footprint call did, after its result: the created file, the mask, the limit... */
static void dump_foot(FILE *out, const struct fh_event *e, const struct fht_call_info *ci)
{
	switch (ci ? fht_call_foot(ci->flags) : FHT_FOOT_NONE) {
	case FHT_FOOT_OPEN:
		if (e->arg2 & FHT_OPEN_CREATED)
			fputs(" {created}", out);
		else if (e->arg2 & FHT_OPEN_CHECKED)
			fputs(" {existed}", out);
		break;
	case FHT_FOOT_UMASK:
		fprintf(out, " {mask %03llo, was %03llo}", (unsigned long long)e->arg & 0777,
			(unsigned long long)e->result & 0777);
		break;
	case FHT_FOOT_RLIMIT:
		if (e->arg2 == -2)
			fprintf(out, " {resource %lld, query}", (long long)e->arg);
		else
			fprintf(out, " {resource %lld, soft %lld}", (long long)e->arg, (long long)e->arg2);
		break;
	case FHT_FOOT_ENV_READ:
		fputs(e->arg ? " {set}" : " {unset}", out);
		break;
	case FHT_FOOT_SIGNAL:
		fputs(e->arg2 == 0 ? " {SIG_DFL}" : e->arg2 == 1 ? " {SIG_IGN}" : " {handler}", out);
		break;
	case FHT_FOOT_LOCALE:
		fprintf(out, " {category %lld%s}", (long long)e->arg, e->target ? "" : ", query");
		break;
	default:
		break;
	}
}

static void dump_call(FILE *out, const struct fh_event *e)
{
	const struct fht_call_info *ci = e->call >= 0 ? fht_call((unsigned)e->call) : NULL;
	int pr = ci ? ci->printer : FHT_PR_NONE;
	int sep = 0;

	fprintf(out, "%s(", e->call_name);
#define SEP() (sep++ ? fputs(", ", out) : 0)
	if (e->fd >= 0) {
		SEP();
		fprintf(out, "%d", e->fd);
	}
	if (e->target) {
		SEP();
		put_escaped(out, e->target);
	}
	if (pr == FHT_PR_SIG || pr == FHT_PR_SIG_PID || pr == FHT_PR_SIG_TID) {
		SEP();
		put_sig(out, (int)e->arg);
		if (pr != FHT_PR_SIG)
			fprintf(out, ", %s=%lld", pr == FHT_PR_SIG_PID ? "pid" : "tid", (long long)e->arg2);
	}
	if (pr == FHT_PR_WAIT_PID) {
		SEP();
		fprintf(out, "pid=%lld", (long long)e->arg2);
	}
	/* who talked to whom (analyzer/ownership.h) */
	if ((e->cflags & (FHF_WAKE | FHF_HOLDER)) && e->arg2 > 0) {
		SEP();
		fprintf(out, "%s=%lld", (e->cflags & FHF_WAKE) ? "woke" : "holder", (long long)e->arg2);
	}
	if ((e->cflags & FHF_PAIR) && e->done && e->result == 0) {
		SEP();
		fprintf(out, "fds=[%lld, %lld]", (long long)e->arg, (long long)e->arg2);
	}
	if (!(e->cflags & FHF_WAKE) &&
	    (e->timeout_ns > 0 || (e->timeout_ns == 0 && (e->category == FH_CAT_POLL ||
	    e->category == FH_CAT_SLEEP || e->category == FH_CAT_LOCK)))) {
		SEP();
		fprintf(out, "timeout=%.6fs", e->timeout_ns / 1e9);
	}
#undef SEP
	fputs(")", out);
	if (!e->done) {
		fputs(" <unfinished ...>\n", out);
		return;
	}
	fprintf(out, " = %lld", (long long)e->result);
	if (e->err_name)
		fprintf(out, " %s (%s)", e->err_name,
			e->conv == FHT_CONV_EAI && e->err < 0 ? gai_strerror(e->err) : strerror(e->err));
	if (pr == FHT_PR_WAIT || pr == FHT_PR_WAIT_PID)
		put_status(out, e->arg);
	if (pr == FHT_PR_CHILD || (pr == FHT_PR_EXEC && e->arg > 0))   /* EXEC: by a vfork child */
		fprintf(out, " {child %lld}", (long long)e->arg);
	dump_foot(out, e, ci);
	fprintf(out, " <%.6f>\n", ((double)e->end_ns - (double)e->start_ns) / 1e9);
}


static const char *const snap_reasons[] = { "api", "fh-timeout", "pytest-timeout",
	"faulthandler", "SIGINT", "SIGTERM" };

/* What a snapshot says a thread was doing: "in recvfrom", "running", ... */
static void put_sysstate(FILE *out, int64_t nr)
{
	if (nr == FHT_SNAP_RUNNING)
		fputs("running", out);
	else if (nr == FHT_SNAP_NOSYS)
		fputs("blocked", out);
	else if (nr < 0)
		fputs("unknown", out);
	else
		fprintf(out, "in %s", trace_syscall_name((int)nr));
}

/* One line per chaos record (fhtrace_format.h, FHT_REC_CHAOS), "~~~" style. */
static void dump_chaos(FILE *out, const struct fh_event *e)
{
	static const char *const cls[] = { "net", "poll", "lock", "cond", "sleep", "proc", "file",
		"pipe", "dns", "start" };
	const char *cname = "?";
	for (unsigned b = 0; b < sizeof(cls) / sizeof(cls[0]); b++)
		if ((unsigned)e->err == 1u << b)
			cname = cls[b];
	switch (e->chaos) {
	case FHT_CHAOS_PLAN:
		fprintf(out, "~~~ chaos plan %d seed 0x%016llx ", (int)e->arg2,
			(unsigned long long)e->arg);
		put_escaped(out, e->target ? e->target : "");
		fputs(" ~~~\n", out);
		return;
	case FHT_CHAOS_DELAY_BEFORE:
	case FHT_CHAOS_DELAY_AFTER:
		fprintf(out, "~~~ chaos delay %.6fs %s %s (%s", e->timeout_ns / 1e9,
			e->chaos == FHT_CHAOS_DELAY_BEFORE ? "before" : "after",
			e->call_name ? e->call_name : "unknown", cname);
		if (e->result > 0)
			fprintf(out, ", plan target %lld", (long long)e->result);
		else
			fputs(", spread", out);
		fprintf(out, ", call #%lld)", (long long)e->arg2);
		break;
	case FHT_CHAOS_YIELD:
		if (e->call_name)
			fprintf(out, "~~~ chaos yield after %s", e->call_name);
		else
			fprintf(out, "~~~ chaos yield at lock release (0x%llx)",
				(unsigned long long)e->arg2);
		break;
	default:
		fprintf(out, "~~~ chaos record of unknown kind %d ~~~\n", e->chaos);
		return;
	}
	if (e->done)
		fprintf(out, " <%.6f> ~~~\n", ((double)e->end_ns - (double)e->start_ns) / 1e9);
	else
		fputs(" <unfinished ...> ~~~\n", out);
}

/* A resource figure: seconds for times, a count otherwise, "?" when unavailable. */
static void put_res_val(FILE *out, const char *name, const struct fh_event *e, int i, bool ns)
{
	int64_t v = i < e->nresv ? e->resv[i] : -1;
	if (v < 0)
		fprintf(out, " %s=?", name);
	else if (ns)
		fprintf(out, " %s=%.6fs", name, v / 1e9);
	else
		fprintf(out, " %s=%lld", name, (long long)v);
}

/* One line per resource record (fhtrace_format.h, FHT_REC_RES). */
static void dump_res(FILE *out, const struct fh_event *e)
{
	static const struct { const char *kind; const char *names[FHT_RES_NV]; unsigned ns; } k[] = {
		[FHT_RES_THREAD] = { "thread", { "user", "sys", "on_cpu", "run_delay", "slices", "tid" },
				     0x0f },
		[FHT_RES_THREAD_CTX] = { "thread_ctx", { "voluntary", "involuntary", "minflt",
						       "majflt", "tid", NULL }, 0 },
		[FHT_RES_PROC] = { "process", { "user", "sys", "minflt", "majflt", "voluntary",
					       "involuntary" }, 0x03 },
		[FHT_RES_CHILDREN] = { "children", { "user", "sys", "minflt", "majflt", "voluntary",
						    "involuntary" }, 0x03 },
		[FHT_RES_MACHINE] = { "machine", { "steal", "total", "idle", "procs_running",
						  "user_hz", "cpus" }, 0x07 },
		[FHT_RES_PROC_SCHED] = { "process_sched", { "on_cpu", "run_delay", "threads", NULL,
							   NULL, NULL }, 0x03 },
	};
	int kind = e->res_kind;
	if (kind <= 0 || kind >= (int)(sizeof(k) / sizeof(k[0])) || !k[kind].kind) {
		fprintf(out, "%%%%%% resources kind %d %%%%%%\n", kind);
		return;
	}
	fprintf(out, "%%%%%% %s", k[kind].kind);
	for (int i = 0; i < FHT_RES_NV && k[kind].names[i]; i++)
		put_res_val(out, k[kind].names[i], e, i, (k[kind].ns >> i) & 1);
	fputs(e->res_exit ? " (exit) %%%\n" : " %%%\n", out);
}

static void dump_sample(FILE *out, const struct fh_event *e)
{
	switch (e->sample) {
	case FHT_SAMPLE_CPU:
		fprintf(out, "*** cpu sample %.6fs", e->weight_ns / 1e9);
		if (e->interrupted_call >= 0)
			fprintf(out, " in %s", fht_calls[e->interrupted_call].name);
		fprintf(out, " pc=0x%llx ***\n", (unsigned long long)e->result);
		break;
	case FHT_SAMPLE_ON:
		fprintf(out, "*** profiler on every %.6fs of CPU, ", e->arg / 1e9);
		put_sig(out, e->fd);
		fprintf(out, ", %lld threads ***\n", (long long)e->result);
		break;
	case FHT_SAMPLE_OFF:
		fputs("*** profiler off ***\n", out);
		break;
	case FHT_SAMPLE_LOST:
		fputs("*** profiler off: the program took ", out);
		put_sig(out, e->fd);
		fputs(" ***\n", out);
		break;
	default:
		fprintf(out, "*** profiler record %d ***\n", e->sample);
		break;
	}
}
/* One line per snapshot record (fhtrace_format.h, FHT_REC_SNAP), strace's "---" style. */
static void dump_snap(FILE *out, const struct fh_event *e)
{
	switch (e->snap) {
	case FHT_SNAP_HEAD:
		fprintf(out, "### hang snapshot (%s", e->arg >= 0 && e->arg < 6 ?
			snap_reasons[e->arg] : "unknown");
		if (e->arg2 > 0)
			fprintf(out, ", limit %.3fs", e->arg2 / 1e9);
		fprintf(out, ") by tid %d: %lld threads, %d children", e->fd, (long long)e->result,
			e->err);
		if (e->done)
			fprintf(out, " <%.6f>", ((double)e->end_ns - (double)e->start_ns) / 1e9);
		else
			fputs(" <unfinished ...>", out);
		fputs(" ###\n", out);
		break;
	case FHT_SNAP_THREAD:
	case FHT_SNAP_CHILD:
		fprintf(out, "### %s %lld/%d ", e->snap == FHT_SNAP_THREAD ? "thread" : "child",
			(long long)e->arg, e->fd);
		{
			/* a child's "EXE\nARGV0": the executable, then argv0=... */
			const char *s = e->target ? e->target : "?";
			const char *nl = e->snap == FHT_SNAP_CHILD ? strchr(s, '\n') : NULL;
			char exe[512];
			snprintf(exe, sizeof(exe), "%.*s", nl ? (int)(nl - s) : (int)strlen(s), s);
			put_escaped(out, exe);
			if (nl) {
				fputs(" argv0=", out);
				put_escaped(out, nl + 1);
			}
		}
		fputc(' ', out);
		put_sysstate(out, e->result);
		if (e->snap == FHT_SNAP_THREAD && e->result == SYS_futex)
			fprintf(out, " (0x%llx)", (unsigned long long)e->arg2);
		if (e->snap == FHT_SNAP_THREAD && e->err >= 0)
			fprintf(out, " call %s", fht_call((unsigned)e->err) ?
				fht_calls[e->err].name : "unknown");
		if (e->snap == FHT_SNAP_CHILD)
			fprintf(out, " parent %lld", (long long)e->arg2);
		fputs(" ###\n", out);
		break;
	case FHT_SNAP_LOCK:
		fprintf(out, "### lock 0x%llx wanted by %lld held by %d (%s)", (unsigned long long)e->arg,
			(long long)e->result, e->fd, e->err == FHT_HOLDER_MUTEX ? "mutex owner" :
			e->err == FHT_HOLDER_ACQUIRE ? "acquired, not released" : "unknown");
		if (e->timeout_ns > 0)
			fprintf(out, " since %+.6f", ((double)e->timeout_ns - (double)e->start_ns) / 1e9);
		fputs(" ###\n", out);
		break;
	default:
		fprintf(out, "### snapshot record of unknown kind %d ###\n", e->snap);
		break;
	}
}

static void dump_thread(const char *path, const struct fh_trace_file *tf, FILE *out)
{
	fprintf(out, "# %s: pid %d ppid %d tid %d exe ", path, tf->pid, tf->ppid, tf->tid);
	put_escaped(out, tf->exe ? tf->exe : "?");
	fprintf(out, " events %zu dropped %llu%s%s", tf->nevents, (unsigned long long)tf->dropped,
		tf->full ? " full" : "", tf->truncated ? " truncated" : "");
	if (tf->dropped && tf->drop_reason)
		fprintf(out, " reason %s", trace_drop_reason_name(tf->drop_reason));
	int64_t t0 = tf->proc_start_ns ? tf->proc_start_ns : tf->mono_anchor_ns;
	if (tf->creator_tid)
		fprintf(out, " created by %d at %+.6f", tf->creator_tid,
			((double)tf->born_ns - (double)t0) / 1e9);
	fputc('\n', out);
	struct trace_stack_printer *sp = NULL;
	for (size_t i = 0; i < tf->nevents; i++) {
		const struct fh_event *e = &tf->events[i];
		fprintf(out, "%+.6f %d/%d ", ((double)e->start_ns - (double)t0) / 1e9, e->pid, e->tid);
		switch (e->type) {
		case FH_EV_CALL:
			dump_call(out, e);
			break;
		case FH_EV_SIGNAL:
			fputs("--- ", out);
			put_sig(out, e->signo);
			fprintf(out, " {si_code=%d, si_pid=%d}", e->si_code, e->sender_pid);
			if (e->interrupted_call >= 0)
				fprintf(out, " interrupted %s", fht_call((unsigned)e->interrupted_call) ?
					fht_calls[e->interrupted_call].name : "unknown");
			if (e->done)
				fprintf(out, " --- <handler %.6f>\n", ((double)e->end_ns - (double)e->start_ns) / 1e9);
			else
				fputs(" --- <handler unfinished ...>\n", out);
			break;
		case FH_EV_MARK:
			fprintf(out, "=== %s", mark_names[e->mark]);
			if (e->nodeid) {
				fputc(' ', out);
				put_escaped(out, e->nodeid);
			}
			if (e->mark == FH_MARK_ATTEMPT_BEGIN || e->mark == FH_MARK_ATTEMPT_END)
				fprintf(out, " attempt=%d", e->attempt);
			else
				fprintf(out, " phase=%d", e->phase);
			if (e->mark == FH_MARK_ATTEMPT_END || e->mark == FH_MARK_PHASE_END)
				fprintf(out, " result=%d", e->outcome);
			fprintf(out, " cpu=%.6fs fds=%d threads=%d ===\n", e->cpu_ns / 1e9, e->fds,
				e->threads);
			break;
		case FH_EV_FOOT:
			fprintf(out, "*** %s", e->foot == FHT_FOOTM_LISTENING ? "still listening" :
				"footprint");
			if (e->fd >= 0)
				fprintf(out, " fd=%d", e->fd);
			if (e->target) {
				fputc(' ', out);
				put_escaped(out, e->target);
			}
			fprintf(out, " attempt=%lld ***\n", (long long)e->arg);
			break;
		case FH_EV_PROC:
			fprintf(out, "+++ process %lld parent %lld exe ", (long long)e->arg,
				(long long)e->arg2);
			put_escaped(out, e->target ? e->target : "?");
			fputs(" +++\n", out);
			break;
		case FH_EV_SNAP:
			dump_snap(out, e);
			break;
		case FH_EV_CHAOS:
			dump_chaos(out, e);
			break;
		case FH_EV_RES:
			dump_res(out, e);
			break;
		case FH_EV_SAMPLE:
			dump_sample(out, e);
			break;
		default:
			break;
		}
		if (e->nstack > 0 || e->npystack > 0) {
			if (!sp)
				sp = trace_stack_printer_new(path, tf->pid);
			trace_stack_print(sp, out, e);
		}
	}
	trace_stack_printer_free(sp);
}

int trace_dump(const char *path, FILE *out)
{
	struct trace_index *ix;
	int r = trace_index_open(path, &ix);

	if (r)
		return r;
	size_t nt = trace_index_nthreads(ix);
	uint64_t drops[FHT_DROP_NREASONS], total = 0;
	unsigned map_reason = 0;
	for (size_t t = 0; t < (nt ? nt : 1); t++) {
		struct fh_trace_file tf;
		r = trace_index_load(ix, t, &tf);
		if (r)
			break;
		if (t == 0) {
			memcpy(drops, tf.file_drops, sizeof(drops));
			total = tf.file_dropped;
			map_reason = tf.map_reason;
		}
		dump_thread(path, &tf, out);
		trace_free(&tf);
	}
	/* What the process lost in all (threads without a chunk too), when it lost anything. */
	if (!r && (total || map_reason)) {
		fprintf(out, "# %s: process dropped %llu", path, (unsigned long long)total);
		const char *sep = " (";
		for (unsigned k = 0; k < FHT_DROP_NREASONS; k++) {
			if (!drops[k])
				continue;
			fprintf(out, "%s%s %llu", sep, trace_drop_reason_name(k),
				(unsigned long long)drops[k]);
			sep = ", ";
		}
		if (*sep == ',')
			fputc(')', out);
		if (map_reason)
			fprintf(out, " module map incomplete (%s)", trace_drop_reason_name(map_reason));
		fputc('\n', out);
	}
	trace_index_close(ix);
	return r;
}
