/* SPDX-License-Identifier: MIT */
/*
 * Test program for stack capture, run under the preload, built with -g: main -> outer -> inner, where
 * inner() sleeps 30 ms with nanosleep(), slower than the default stack threshold, so the
 * preload captures a stack at the end of the call. Prints "line <function> <line>" for the
 * call site in each function; tests/c/analyzer/test_symbolize.c reads the trace back, symbolizes the
 * stack with symbolize_event_stack() and compares.
 */
#include <stdio.h>
#include <time.h>

static volatile int sink;

__attribute__((noinline)) static int inner(void)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	int r = nanosleep(&ts, NULL); printf("line inner %d\n", __LINE__);
	return r + sink;
}

__attribute__((noinline)) static int outer(void)
{
	int r = inner(); printf("line outer %d\n", __LINE__);
	return r + sink;
}

int main(void)
{
	int r = outer(); printf("line main %d\n", __LINE__);
	return r;
}
