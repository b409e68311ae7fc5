# SPDX-License-Identifier: MIT
# flakehunter: one plain GNU Makefile. `make help` lists the targets.
#
# Sources are found by wildcard, so adding a module means adding a file:
#   analyzer/*.c + report/*.c  -> build/fh-analyze   (analyzer/main.c holds main())
#   report/assets/*            -> embedded as C strings (build/gen/assets.c, see tools/embed.c)
#   preload/*.c                -> build/libfhtrace.so
#   tests/c/test_*.c           -> build/tests/test_*  (Check; each case forks, with a timeout)
#   tests/preload/*.c          -> build/tests/preload/* (plain programs run under the preload)

PYTHON  ?= /usr/bin/python3
CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla
ifneq ($(CI),)
WARN += -Werror
endif
OPT     ?= -O2 -g
CFLAGS  ?=
BASEFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -fno-strict-aliasing
SAN     ?=

# Debian packages that provide what the build, the tests and the demo need (iniconfig and
# packaging: pytest 9 needs them, for the test that runs the plugin under it).
DEB_PKGS := gcc make pkg-config libcjson-dev libcurl4-openssl-dev libunwind-dev libdw-dev \
	libelf-dev check libsubunit-dev libxml2-utils python3 python3-pytest python3-pytest-xdist \
	python3-pytest-timeout python3-pytest-repeat python3-setuptools python3-iniconfig \
	python3-packaging chromium strace xxd
PKGS := libcjson libcurl libdw
TEST_PKGS := check

CJSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcjson libcurl libdw 2>/dev/null)
CJSON_LIBS   := $(shell $(PKG_CONFIG) --libs libcjson libcurl libdw 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

ANALYZER_SRC := $(sort $(wildcard analyzer/*.c) $(wildcard report/*.c))
ANALYZER_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(ANALYZER_SRC))
ASSETS       := $(sort $(wildcard report/assets/*))
ASSETS_OBJ   := $(BUILD)/obj/gen/assets.o
LIB_OBJ      := $(filter-out $(BUILD)/obj/analyzer/main.o,$(ANALYZER_OBJ)) $(ASSETS_OBJ)

PRELOAD_SRC  := $(sort $(wildcard preload/*.c))
PRELOAD_OBJ  := $(patsubst %.c,$(BUILD)/obj/pic/%.o,$(PRELOAD_SRC))
# libunwind must stay private: an exported _Unwind_RaiseException would hijack C++ exceptions
# of extension modules. Debian's libunwind.a is not position-independent (cannot go into a
# shared object), so preload/stacks.c loads libunwind.so.8 with dlopen(RTLD_LOCAL) instead and
# nothing is linked here; tests/py/test_stacks_python.py checks `nm -D`.
UNWIND_LIBS  :=
PRELOAD_LIBS ?= -ldl -lpthread
# The export list is calls.def's names plus the fh_* API, generated from exports.map.in.
EXPORTS_MAP  := $(BUILD)/gen/exports.map
PRELOAD_LDFLAGS := -shared -Wl,--exclude-libs,ALL -Wl,-z,now -Wl,--version-script=$(EXPORTS_MAP)

C_TESTS      := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/c/test_*.c)))
PRELOAD_TESTS := $(patsubst tests/preload/%.c,$(BUILD)/tests/preload/%,$(sort $(wildcard tests/preload/*.c)))
# C++ test shared objects (C++ exceptions must still work under the preload, whose stack
# capture uses libunwind): tests/preload/x.cpp -> libx.so
CXX_TEST_SOS := $(patsubst tests/preload/%.cpp,$(BUILD)/tests/preload/lib%.so,$(sort $(wildcard tests/preload/*.cpp)))

FH_ANALYZE := $(BUILD)/fh-analyze
FH_LIB     := $(if $(PRELOAD_SRC),$(BUILD)/libfhtrace.so)

.PHONY: all help deps check-deps check-test-deps build-tests test test-c test-py asan bench \
	demo install uninstall clean fuzz
.DEFAULT_GOAL := all

# The tool only; the test programs are built by `make build-tests` (and `make test`).
all: check-deps $(FH_ANALYZE) $(FH_LIB)

build-tests: check-deps check-test-deps $(C_TESTS) $(PRELOAD_TESTS) $(CXX_TEST_SOS)

help:
	@echo "flakehunter make targets:"
	@echo "  make            build the tool: build/fh-analyze and build/libfhtrace.so"
	@echo "  make deps       install missing Debian packages (as root), or print the apt-get command;"
	@echo "                  the only target that installs packages"
	@echo "  make demo       make deps, build, run the demo suite under the preload with --fh, write the report"
	@echo "  make test       make deps, build the tool and the tests, run the C unit tests, then the"
	@echo "                  pytest integration tests (preload test programs, browser, pytest 9)"
	@echo "  make install    install the built tool and the pytest plugin (PREFIX=$(PREFIX),"
	@echo "                  DESTDIR honoured); builds what is missing, installs no packages"
	@echo "  make build-tests  build the C tests and the preload test programs only"
	@echo "  make asan       C unit tests under AddressSanitizer and UBSan"
	@echo "  make bench      make deps, build, benchmarks printed as side-by-side ratios"
	@echo "  make fuzz       build the libFuzzer targets (clang) and run each briefly"
	@echo "  make clean      remove build/ and build-asan/"
	@echo "variables: PYTHON=$(PYTHON) CC=$(CC) PREFIX=$(PREFIX) BUILD=$(BUILD) CI=1 (-Werror)"

# `make deps`: install what is missing (root), or say exactly what to run.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: missing:" $$missing; \
	if [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "deps: run as root:  apt-get update && apt-get install -y $$missing"; exit 1; \
	fi

check-deps:
	@$(PKG_CONFIG) --exists $(PKGS) || { echo "missing libraries; run 'make deps' (as root) or: apt-get install -y $(DEB_PKGS)"; exit 1; }

check-test-deps:
	@$(PKG_CONFIG) --exists $(TEST_PKGS) || { echo "missing the Check library; run 'make deps' (as root) or: apt-get install -y $(DEB_PKGS)"; exit 1; }

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SAN) $(CJSON_CFLAGS) -Ianalyzer -Ireport -Ipreload -MMD -MP $(CFLAGS) -c $< -o $@

$(BUILD)/obj/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -fPIC -fvisibility=hidden -fno-omit-frame-pointer -Ipreload -MMD -MP $(CFLAGS) -c $< -o $@

$(BUILD)/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $< -o $@

$(BUILD)/gen/assets.c: $(ASSETS) $(BUILD)/embed
	@mkdir -p $(dir $@)
	$(BUILD)/embed $@ $(ASSETS)

$(ASSETS_OBJ): $(BUILD)/gen/assets.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SAN) -c $< -o $@

$(FH_ANALYZE): $(ANALYZER_OBJ) $(ASSETS_OBJ)
	$(CC) $(SAN) $^ $(CJSON_LIBS) -lm -o $@

$(EXPORTS_MAP): preload/exports.map.in preload/calls.def
	@mkdir -p $(dir $@)
	$(CC) -E -P -undef -x c -Ipreload $< -o $@

$(BUILD)/libfhtrace.so: $(PRELOAD_OBJ) $(EXPORTS_MAP)
	$(CC) $(PRELOAD_LDFLAGS) $(PRELOAD_OBJ) $(UNWIND_LIBS) $(PRELOAD_LIBS) -o $@

$(BUILD)/tests/%: tests/c/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SAN) $(CJSON_CFLAGS) $(CHECK_CFLAGS) -Ianalyzer -Ireport -Ipreload $(CFLAGS) \
		$< $(LIB_OBJ) $(CJSON_LIBS) $(CHECK_LIBS) -lm -o $@

$(BUILD)/tests/preload/%: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -Ipreload $< -o $@ -lpthread -lrt

# test_limits compiles preload/limits.c into itself
$(BUILD)/tests/test_limits: preload/limits.c preload/fhtrace_int.h preload/fhtrace_format.h

# stack_prog compiles preload/stacks.c, modmap.c and limits.c into itself, to test stack
# capture without the rest of the preload
$(BUILD)/tests/preload/stack_prog: preload/stacks.c preload/stacks.h preload/modmap.c preload/modmap.h \
	preload/pystack.h preload/limits.c preload/fhtrace_int.h

$(BUILD)/tests/preload/lib%.so: tests/preload/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -O1 -g -fPIC -shared $< -o $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- tests ----
PYTEST := $(PYTHON) -m pytest
TEST_ENV := FH_BUILD=$(abspath $(BUILD)) FH_ANALYZE=$(abspath $(FH_ANALYZE)) \
	FH_LIB=$(abspath $(BUILD)/libfhtrace.so) PYTHONPATH=$(abspath plugin) PYTHONDONTWRITEBYTECODE=1

# `make test`, `make demo` and `make bench` work as the first command on a fresh machine: they
# install the packages first, then build in a new make, which evaluates the pkg-config flags
# above again now that the libraries are there. The tests build in parallel (-j) and run one
# after the other; pytest runs last so its closing line is the last thing printed.
test: deps
	@$(MAKE) --no-print-directory build-tests all
	@$(MAKE) --no-print-directory test-c
	@$(MAKE) --no-print-directory test-py

test-c: check-deps check-test-deps $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; CK_DEFAULT_TIMEOUT=20 $$t; done

test-py: all $(PRELOAD_TESTS) $(CXX_TEST_SOS)
	$(TEST_ENV) $(PYTEST) -p no:cacheprovider -q tests/py

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		$(patsubst $(BUILD)/%,build-asan/%,$(FH_ANALYZE) $(FH_LIB) $(C_TESTS) $(PRELOAD_TESTS))
	@set -e; for t in $(patsubst $(BUILD)/%,build-asan/%,$(C_TESTS)); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CK_DEFAULT_TIMEOUT=60 $$t; done

bench: deps
	@$(MAKE) --no-print-directory all build-tests
	$(TEST_ENV) $(PYTHON) bench/run.py

demo: deps
	@$(MAKE) --no-print-directory all
	$(TEST_ENV) $(PYTHON) demo/run_demo.py

# New inputs libFuzzer finds go to $(BUILD)/fuzz/corpus (its first corpus directory); the
# checked-in seeds in tests/fuzz/corpus are only read.
fuzz: $(BUILD)/gen/assets.c
	@set -e; mkdir -p $(BUILD)/fuzz; for f in $(wildcard tests/fuzz/fuzz_*.c); do \
		n=$$(basename $$f .c); \
		clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined $(CJSON_CFLAGS) \
			-Ianalyzer -Ireport -Ipreload $$f $(filter-out analyzer/main.c,$(ANALYZER_SRC)) \
			$(BUILD)/gen/assets.c $(CJSON_LIBS) -lm -o $(BUILD)/fuzz/$$n; \
		mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		$(BUILD)/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-20} $(BUILD)/fuzz/corpus/$$n \
			tests/fuzz/corpus/$$n 2>&1 | tail -2; \
	done

# ---- install ----
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
# Debian's python3 searches $(PREFIX)/lib/python3.X/dist-packages (not .../python3/...).
PY_VER  ?= $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PY_SITE ?= $(PREFIX)/lib/python$(PY_VER)/dist-packages

# Installs what was built (building it first when needed); never packages: that is `make deps`.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PY_SITE)
	install -m 0755 $(FH_ANALYZE) $(DESTDIR)$(BINDIR)/fh-analyze
	$(if $(FH_LIB),install -m 0755 $(FH_LIB) $(DESTDIR)$(LIBDIR)/libfhtrace.so)
	$(PYTHON) plugin/install_plugin.py --dest $(DESTDIR)$(PY_SITE)
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/fh-analyze $(DESTDIR)$(LIBDIR)/libfhtrace.so
	rm -rf $(DESTDIR)$(PY_SITE)/pytest_flakehunter $(DESTDIR)$(PY_SITE)/pytest_flakehunter-*.dist-info
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

clean:
	rm -rf build build-asan
