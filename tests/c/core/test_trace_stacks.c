/* SPDX-License-Identifier: MIT */
/*
 * Decoding of FHT_REC_STACK records (core/trace_stacks.c) through trace_load(): a call
 * and the signal that cut it sharing one stack (native + Python frames, interned strings), and
 * hostile stack records (references out of range or to the wrong kind, counts past the record,
 * strings without an end, stacks without their last record) that must decode to something
 * bounded or to nothing, never crash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fh_check.h"
#include "fh_tracefile.h"
#include "fhtrace_format.h"
#include "trace.h"

#define NREC 64

static struct fht_stack *stk(struct v1img *m, unsigned slot, int kind, unsigned owner, int n,
			     int last)
{
	struct fht_stack *s = (struct fht_stack *)&m->r[slot];

	s->type = FHT_REC_STACK;
	s->kind = (uint8_t)kind;
	s->owner = owner;
	s->n = (uint8_t)n;
	s->flags = last ? FHT_STK_F_LAST : 0;
	return s;
}

static void str(struct v1img *m, unsigned slot, unsigned owner, const char *s, size_t len, int last)
{
	struct fht_str *r = (struct fht_str *)&m->r[slot];

	r->type = FHT_REC_STR;
	r->owner = owner;
	r->len = (uint8_t)len;
	r->last = (uint8_t)last;
	memcpy(r->data, s, len);
}

static void load(const struct v1img *m, struct fh_trace_file *tf)
{
	char path[] = "/tmp/fh-test-trace-stacks-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, m, sizeof(*m)), (ssize_t)sizeof(*m));
	close(fd);
	ck_assert_int_eq(trace_load(path, tf), 0);
	unlink(path);
}

static const struct fh_event *event(const struct fh_trace_file *tf, enum fh_ev_type type)
{
	for (size_t i = 0; i < tf->nevents; i++)
		if (tf->events[i].type == type)
			return &tf->events[i];
	return NULL;
}

/* slot 0 call, 1 signal (during the call), 2 PYSTR "nap\0t.py" + 3 its string, 4-5 native
 * (7 + 2 pcs), 6 python (2 frames, both naming slot 2), last. */
static void good(struct v1img *m)
{
	struct fht_stack *s;

	v1_init(m, 7, 100);
	m->r[0] = (struct fht_rec){ .type = FHT_REC_CALL, .flags = FHT_F_DONE,
				    .call = (uint16_t)call_id("clock_nanosleep"), .fd = -1,
				    .start_ns = 2000, .end_ns = 9000, .result = 4, .err = 4,
				    .stack_ref = 4 };
	m->r[1] = (struct fht_rec){ .type = FHT_REC_SIGNAL, .flags = FHT_F_DONE,
				    .call = (uint16_t)call_id("clock_nanosleep"), .fd = 14,
				    .start_ns = 8000, .end_ns = 8100, .stack_ref = 4 };
	s = stk(m, 2, FHT_STK_PYSTR, 0, 0, 0);
	s->u.hash = 1;
	str(m, 3, 2, "nap\0t.py", 8, 1);
	s = stk(m, 4, FHT_STK_NATIVE, 0, 7, 0);
	for (int i = 0; i < 7; i++)
		s->u.pcs[i] = 0x1000 + (uint64_t)i;
	s = stk(m, 5, FHT_STK_NATIVE, 0, 2, 0);
	s->u.pcs[0] = 0x2000;
	s->u.pcs[1] = 0x2001;
	s = stk(m, 6, FHT_STK_PY, 0, 2, 1);
	s->u.py[0].line = 6;
	s->u.py[0].str = 2;
	s->u.py[1].line = 9;
	s->u.py[1].str = 2;
}

START_TEST(test_call_and_signal_share_stack)
{
	struct v1img m;
	struct fh_trace_file tf;
	const struct fh_event *call, *sig;

	good(&m);
	load(&m, &tf);
	call = event(&tf, FH_EV_CALL);
	sig = event(&tf, FH_EV_SIGNAL);
	ck_assert_ptr_nonnull(call);
	ck_assert_ptr_nonnull(sig);
	ck_assert_int_eq(call->nstack, 9);
	ck_assert_int_eq(call->stack[0], 0x1000);
	ck_assert_int_eq(call->stack[8], 0x2001);
	ck_assert_int_eq(call->npystack, 2);
	ck_assert_str_eq(call->pystack[0].kind, "python");
	ck_assert_str_eq(call->pystack[0].function, "nap");
	ck_assert_str_eq(call->pystack[0].path, "t.py");
	ck_assert_int_eq(call->pystack[0].line, 6);
	ck_assert_int_eq(call->pystack[1].line, 9);
	ck_assert_ptr_eq(sig->stack, call->stack);
	ck_assert_ptr_eq(sig->pystack, call->pystack);
	ck_assert_int_eq(sig->nstack, 9);
	trace_free(&tf);
}
END_TEST

START_TEST(test_hostile_stack_records)
{
	struct v1img m;
	struct fh_trace_file tf;
	const struct fh_event *call, *sig;
	struct fht_stack *s;

	/* references out of range, to a non-stack record, to a PYSTR record */
	good(&m);
	m.r[0].stack_ref = 5000;
	m.r[1].stack_ref = 0xffffffffu;
	load(&m, &tf);
	ck_assert_int_eq(event(&tf, FH_EV_CALL)->nstack, 0);
	ck_assert_int_eq(event(&tf, FH_EV_SIGNAL)->npystack, 0);
	trace_free(&tf);
	good(&m);
	m.r[0].stack_ref = 3;  /* a STR record */
	m.r[1].stack_ref = 2;  /* a PYSTR record */
	load(&m, &tf);
	ck_assert_int_eq(event(&tf, FH_EV_CALL)->nstack + event(&tf, FH_EV_CALL)->npystack, 0);
	ck_assert_int_eq(event(&tf, FH_EV_SIGNAL)->nstack + event(&tf, FH_EV_SIGNAL)->npystack, 0);
	trace_free(&tf);

	/* counts past the record, Python frames naming bogus strings, string without its end,
	 * no last record: bounded output */
	good(&m);
	((struct fht_stack *)&m.r[4])->n = 255;
	((struct fht_stack *)&m.r[6])->flags = 0;
	((struct fht_stack *)&m.r[6])->u.py[0].str = 60;        /* an empty slot */
	((struct fht_stack *)&m.r[6])->u.py[1].str = 4;         /* a NATIVE record */
	((struct fht_stack *)&m.r[6])->u.py[1].line = -5;
	((struct fht_str *)&m.r[3])->last = 0;
	((struct fht_str *)&m.r[3])->len = 200;
	load(&m, &tf);
	call = event(&tf, FH_EV_CALL);
	ck_assert_int_eq(call->nstack, 9);
	ck_assert_int_eq(call->npystack, 2);
	ck_assert_ptr_null(call->pystack[0].function);
	ck_assert_ptr_null(call->pystack[1].function);
	ck_assert_int_eq(call->pystack[1].line, 0);
	trace_free(&tf);

	/* a string record claiming the PYSTR but with data that has no NUL: function only */
	good(&m);
	str(&m, 3, 2, "abcdefgh", 8, 1);
	load(&m, &tf);
	call = event(&tf, FH_EV_CALL);
	ck_assert_str_eq(call->pystack[0].function, "abcdefgh");
	ck_assert_ptr_null(call->pystack[0].path);
	trace_free(&tf);

	/* a stack that belongs to another owner is not collected past its first record */
	good(&m);
	s = (struct fht_stack *)&m.r[5];
	s->owner = 1;
	load(&m, &tf);
	call = event(&tf, FH_EV_CALL);
	sig = event(&tf, FH_EV_SIGNAL);
	ck_assert_int_eq(call->nstack, 7);
	ck_assert_int_eq(sig->nstack, 7);
	trace_free(&tf);
}
END_TEST

START_TEST(test_random_stack_records_never_crash)
{
	struct v1img m;
	struct fh_trace_file tf;
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		good(&m);
		for (unsigned i = 2; i < NREC; i++) {
			unsigned char *p = (unsigned char *)&m.r[i];
			for (size_t k = 0; k < sizeof(m.r[i]); k++)
				p[k] = (unsigned char)(rand_r(&seed) & 0xff);
			if (rand_r(&seed) % 2)
				p[0] = FHT_REC_STACK;
			else if (rand_r(&seed) % 3 == 0)
				p[0] = FHT_REC_STR;
			if (p[0] == FHT_REC_STACK && rand_r(&seed) % 2)
				((struct fht_stack *)&m.r[i])->owner = (uint32_t)(rand_r(&seed) % 4);
		}
		m.h.reserved = NREC;
		m.r[0].stack_ref = 2 + (uint32_t)(rand_r(&seed) % (NREC - 2));
		load(&m, &tf);
		for (size_t e = 0; e < tf.nevents; e++) {
			const struct fh_event *ev = &tf.events[e];
			ck_assert_int_le(ev->nstack, 256);
			ck_assert_int_le(ev->npystack, 256);
			for (int k = 0; k < ev->npystack; k++)
				if (ev->pystack[k].function)
					ck_assert_int_le(strlen(ev->pystack[k].function), 512);
		}
		trace_free(&tf);
	}
}
END_TEST

static Suite *trace_stacks_suite(void)
{
	Suite *s = suite_create("trace_stacks");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_call_and_signal_share_stack);
	tcase_add_test(tc, test_hostile_stack_records);
	tcase_add_test(tc, test_random_stack_records_never_crash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(trace_stacks_suite());
}
