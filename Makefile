# SPDX-License-Identifier: MIT
# flakehunter: one plain GNU Makefile. `make help` lists the targets.
#
# Sources are found by wildcard, so adding a module means adding a file. The analyzer is built
# in layers (ARCHITECTURE.md, "Layers"); each folder is one, compiled with the include paths of
# the layers it may use and nothing else, so a file that includes a header of a layer above it
# does not compile:
#   core/*.c                   -> build/libfhcore.a      (buffers, model, records, trace reader;
#                                 libcjson only)
#   analyzer/*.c               -> build/libfhanalyzer.a  (the stages; libdw, libcurl)
#   report/*.c, report/assets/* -> build/libfhreport.a   (the HTML report; sees core only)
#   cli/*.c                    -> build/fh-analyze       (the command line; sees every layer)
#   preload/*.c                -> build/libfhtrace.so
#   tests/c/LAYER/test_*.c     -> build/tests/test_*  (Check; each case forks, with a timeout;
#                                 linked with LAYER and the layers below it only)
#   tests/fuzz/LAYER/fuzz_*.c  -> build/fuzz/fuzz_*  (libFuzzer, the same layering)
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

# Debian packages that provide what the build, the tests, the demo and `make fuzz` need
# (iniconfig and packaging: pytest 9 needs them, for the test that runs the plugin under it;
# clang: the fuzzers, with libFuzzer from libclang-rt, which apt installs as clang's
# recommendation).
DEB_PKGS := gcc make pkg-config libcjson-dev libcurl4-openssl-dev libunwind-dev libdw-dev \
	libelf-dev check libsubunit-dev libxml2-utils python3 python3-pytest python3-pytest-xdist \
	python3-pytest-timeout python3-pytest-repeat python3-setuptools python3-iniconfig \
	python3-packaging chromium strace xxd clang
PKGS := libcjson libcurl libdw
TEST_PKGS := check

CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# The layers of the analyzer, lowest first. For each: the folders whose headers its files may
# include (INC_*) and the packages it links (PKGS_*). preload/ is on every include path for
# the trace format and the call table (fhtrace_format.h, fhtrace_calls.h): the only preload
# headers another layer may include (tests/py/test_layers.py checks that, and the rest).
LAYERS       := core analyzer report cli
INC_core     := -Icore -Ipreload
INC_analyzer := -Icore -Ianalyzer -Ipreload
INC_report   := -Icore -Ireport
INC_cli      := -Icore -Ianalyzer -Ireport -Ipreload
PKGS_core     := libcjson
PKGS_analyzer := libcjson libcurl libdw
PKGS_report   :=
PKGS_cli      := libcjson libcurl libdw
# What a test or fuzz target of tests/c/LAYER (tests/fuzz/LAYER) sees and links: LAYER and the
# layers below it, top first (static archives: only the objects it uses are linked). The
# report's tests build their models through the stages, so they see those too.
TINC_core      := $(INC_core)
TINC_analyzer  := $(INC_analyzer)
TINC_report    := $(INC_cli)
TLINK_core     := core
TLINK_analyzer := analyzer core
TLINK_report   := report analyzer core
pkg_cflags = $(if $(PKGS_$(1)),$(shell $(PKG_CONFIG) --cflags $(PKGS_$(1)) 2>/dev/null))
pkg_libs   = $(if $(PKGS_$(1)),$(shell $(PKG_CONFIG) --libs $(PKGS_$(1)) 2>/dev/null))
# The layer of a path: its first folder (core/x.c -> core), or tests/c/LAYER/..., tests/fuzz/LAYER/...
layer_of = $(firstword $(subst /, ,$(patsubst tests/c/%,%,$(patsubst tests/fuzz/%,%,$(1)))))

SRC_core     := $(sort $(wildcard core/*.c))
SRC_analyzer := $(sort $(wildcard analyzer/*.c))
SRC_report   := $(sort $(wildcard report/*.c))
SRC_cli      := $(sort $(wildcard cli/*.c))
OBJ_core     := $(patsubst %.c,$(BUILD)/obj/%.o,$(SRC_core))
OBJ_analyzer := $(patsubst %.c,$(BUILD)/obj/%.o,$(SRC_analyzer))
ASSETS       := $(sort $(wildcard report/assets/*))
ASSETS_OBJ   := $(BUILD)/obj/gen/assets.o
OBJ_report   := $(patsubst %.c,$(BUILD)/obj/%.o,$(SRC_report)) $(ASSETS_OBJ)
OBJ_cli      := $(patsubst %.c,$(BUILD)/obj/%.o,$(SRC_cli))
LIB_core     := $(BUILD)/libfhcore.a
LIB_analyzer := $(BUILD)/libfhanalyzer.a
LIB_report   := $(BUILD)/libfhreport.a

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

# tests/c/preload/ tests compile preload sources into themselves (below), the other folders
# link their layer's archives.
C_TEST_SRC   := $(sort $(foreach l,core analyzer report preload,$(wildcard tests/c/$(l)/test_*.c)))
C_TESTS      := $(foreach t,$(C_TEST_SRC),$(BUILD)/tests/$(basename $(notdir $(t))))
FUZZ_SRC     := $(sort $(foreach l,core analyzer report,$(wildcard tests/fuzz/$(l)/fuzz_*.c)))
PRELOAD_TESTS := $(patsubst tests/preload/%.c,$(BUILD)/tests/preload/%,$(sort $(wildcard tests/preload/*.c)))
# C++ test shared objects (C++ exceptions must still work under the preload, whose stack
# capture uses libunwind): tests/preload/x.cpp -> libx.so
CXX_TEST_SOS := $(patsubst tests/preload/%.cpp,$(BUILD)/tests/preload/lib%.so,$(sort $(wildcard tests/preload/*.cpp)))

FH_ANALYZE := $(BUILD)/fh-analyze
FH_LIB     := $(if $(PRELOAD_SRC),$(BUILD)/libfhtrace.so)

.PHONY: all help deps check-deps check-test-deps build-tests test test-c test-py asan bench \
	demo install uninstall clean fuzz fuzz-targets
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

# One rule for every layer: the folder names the layer, the layer its include paths.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SAN) $(call pkg_cflags,$(call layer_of,$<)) $(INC_$(call layer_of,$<)) \
		-MMD -MP $(CFLAGS) -c $< -o $@

$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIB_core): $(OBJ_core)
$(LIB_analyzer): $(OBJ_analyzer)
$(LIB_report): $(OBJ_report)

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

$(FH_ANALYZE): $(OBJ_cli) $(LIB_report) $(LIB_analyzer) $(LIB_core)
	$(CC) $(SAN) $^ $(call pkg_libs,cli) -lm -lpthread -o $@

$(EXPORTS_MAP): preload/exports.map.in preload/calls.def
	@mkdir -p $(dir $@)
	$(CC) -E -P -undef -x c -Ipreload $< -o $@

$(BUILD)/libfhtrace.so: $(PRELOAD_OBJ) $(EXPORTS_MAP)
	$(CC) $(PRELOAD_LDFLAGS) $(PRELOAD_OBJ) $(UNWIND_LIBS) $(PRELOAD_LIBS) -o $@

# A test of tests/c/LAYER sees LAYER's include paths (and tests/c/ for the shared test
# helpers) and links LAYER's archives and packages; --as-needed keeps a package a test does
# not use (libcurl, libdw) out of it.
define c_test
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $(foreach l,$(TLINK_$(2)),$(LIB_$(l)))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASEFLAGS) $$(SAN) $(foreach l,$(TLINK_$(2)),$$(call pkg_cflags,$(l))) $$(CHECK_CFLAGS) \
		$$(TINC_$(2)) -Itests/c -Itests/c/$(2) $$(CFLAGS) $$< $(foreach l,$(TLINK_$(2)),$$(LIB_$(l))) \
		-Wl,--as-needed $(foreach l,$(TLINK_$(2)),$$(call pkg_libs,$(l))) $$(CHECK_LIBS) -lm -lpthread -o $$@
endef
$(foreach t,$(filter-out tests/c/preload/%,$(C_TEST_SRC)),$(eval $(call c_test,$(t),$(call layer_of,$(t)))))

# libFuzzer targets (`make fuzz` builds them in a make of its own, with clang and BUILD=build/fuzz).
define fuzz_target
$(BUILD)/$(basename $(notdir $(1))): $(1) $(foreach l,$(TLINK_$(2)),$(LIB_$(l)))
	$$(CC) $$(BASEFLAGS) -fsanitize=fuzzer,address,undefined $(foreach l,$(TLINK_$(2)),$$(call pkg_cflags,$(l))) \
		$$(TINC_$(2)) $$(CFLAGS) $$< $(foreach l,$(TLINK_$(2)),$$(LIB_$(l))) \
		-Wl,--as-needed $(foreach l,$(TLINK_$(2)),$$(call pkg_libs,$(l))) -lm -lpthread -o $$@
endef
$(foreach t,$(FUZZ_SRC),$(eval $(call fuzz_target,$(t),$(call layer_of,$(t)))))
FUZZ_TARGETS := $(foreach t,$(FUZZ_SRC),$(BUILD)/$(basename $(notdir $(t))))

# tests/c/preload: tests of preload code compiled into the test itself.
$(BUILD)/tests/%: tests/c/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SAN) $(CHECK_CFLAGS) -Ipreload -Itests/c $(CFLAGS) $< $(CHECK_LIBS) -lm -lpthread -o $@

$(BUILD)/tests/preload/%: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -Ipreload $< -o $@ -lpthread -lrt

# test_limits compiles preload/limits.c into itself
$(BUILD)/tests/test_limits: preload/limits.c preload/fhtrace_int.h preload/fhtrace_format.h

# test_locktab compiles preload/locktab.c into itself
$(BUILD)/tests/test_locktab: preload/locktab.c preload/locktab.h preload/fhtrace_int.h

# stack_prog compiles preload/stacks.c, modmap.c, limits.c and fmt.c into itself, to test stack
# capture without the rest of the preload
$(BUILD)/tests/preload/stack_prog: preload/stacks.c preload/stacks.h preload/modmap.c preload/modmap.h \
	preload/pystack.h preload/limits.c preload/fmt.c preload/fhtrace_int.h

$(BUILD)/tests/preload/lib%.so: tests/preload/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -Wall -Wextra -Wshadow $(filter -Werror,$(WARN)) -O1 -g -fPIC -shared $< -o $@

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
# checked-in seeds in tests/fuzz/corpus are only read. The targets and the layers' archives are
# built by clang with the fuzzer's instrumentation in $(BUILD)/fuzz (a make of its own, after
# `make deps`, which installs clang). Each target runs FUZZ_SECONDS (default 20), at most
# FUZZ_RUNS executions when set; one line per target; a finding stops `make fuzz` with its log
# and the input in $(BUILD)/fuzz/NAME-crash-*.
fuzz: deps
	@$(MAKE) --no-print-directory check-deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang OPT="-g -O1" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined" fuzz-targets
	@set -e; for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); b=$(BUILD)/fuzz/$$n; \
		mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		if ! $$b -max_total_time=$${FUZZ_SECONDS:-20} $${FUZZ_RUNS:+-runs=$$FUZZ_RUNS} \
			-print_final_stats=1 -artifact_prefix=$$b- $(BUILD)/fuzz/corpus/$$n \
			tests/fuzz/corpus/$$n >$$b.log 2>&1; then \
			tail -40 $$b.log; echo "fuzz: $$n failed"; exit 1; fi; \
		echo "$$n: $$(sed -n 's/^stat::number_of_executed_units: *//p' $$b.log) executions," \
			"$$(grep -cE '^#[0-9]+.*(NEW|REDUCE)' $$b.log) new or reduced inputs, no finding"; \
	done

fuzz-targets: $(FUZZ_TARGETS)

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
