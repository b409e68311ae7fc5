// SPDX-License-Identifier: MIT
// A C++ "extension-like" shared object (built as build/tests/preload/libstack_cxx_ext.so) whose
// code throws and catches exceptions through several frames, the way C++ extension modules do.
// If the preload ever exported libunwind's _Unwind_RaiseException, these throws would run
// through the wrong unwinder (crash, std::terminate or wrong catch). tests/py/test_stacks_*.py
// loads it with ctypes with and without the preload and compares the results.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <dlfcn.h>
#include <unistd.h>

namespace {

struct Tracked {
	static int alive;
	Tracked() { alive++; }
	~Tracked() { alive--; }
};
int Tracked::alive = 0;

__attribute__((noinline)) void level3(int i)
{
	Tracked t;
	if (i % 3 == 0)
		throw std::runtime_error("div3 " + std::to_string(i));
	if (i % 3 == 1)
		throw i;
}

__attribute__((noinline)) void level2(int i)
{
	Tracked t;
	try {
		level3(i);
	} catch (int v) {
		throw std::out_of_range("int " + std::to_string(v)); // rethrow as another type
	}
}

__attribute__((noinline)) long level1(int i)
{
	try {
		level2(i);
		return 1;
	} catch (const std::out_of_range &e) {
		return 1000 + (long)std::strlen(e.what());
	} catch (const std::exception &e) {
		return 100000 + (long)std::strlen(e.what());
	}
}

} // namespace

extern "C" __attribute__((visibility("default"))) long fh_cxx_run(int n)
{
	long sum = 0;
	for (int i = 0; i < n; i++) {
		sum += level1(i);
		usleep(0); // a wrapped libc call between the throws
	}
	return Tracked::alive == 0 ? sum : -1;
}

// Which object provides the process-wide _Unwind_RaiseException (its path, or "" if none).
extern "C" __attribute__((visibility("default"))) int fh_cxx_unwinder(char *out, int cap)
{
	void *p = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
	Dl_info info;
	if (cap <= 0)
		return -1;
	out[0] = 0;
	if (p && dladdr(p, &info) && info.dli_fname)
		std::snprintf(out, (size_t)cap, "%s", info.dli_fname);
	return 0;
}
