# memline's developer build.  The package is built by setuptools from
# build.cfg (sources, flags, version), exactly as `pip install .` builds it
# for users; make installs it into a virtual environment, one per
# interpreter, and runs the tests against that installed package.  Make
# itself builds only what is not the package: the C unit tests, the
# standalone binary, the sanitizer configuration, the fuzzer, the bench.
#
#   make            the package into .venv<tag> (warnings are errors), and the binary
#   make test       C unit tests, then the Python suite against the installed package
#   make test-asan  the same against an ASan+UBSan build (own venv, own objects)
#   make demo       profiles the seed's examples
#   make bench      the benchmark (mk/bench.mk)
#
# PYTHON picks the interpreter.  setuptools writes build/; make writes out/.

include build.cfg

PYTHON ?= python3
SAN ?= 0

EXT_SUFFIX := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
# The interpreter's tag (".cpython-311-x86_64-linux-gnu"): one venv and one
# output folder per interpreter and configuration, so they never mix.
PYTAG := $(basename $(EXT_SUFFIX))

CC ?= cc
CFLAGS_BASE := $(CSTD) $(WARN) $(DEV_WARN) $(OPT) -fPIC -I$(INCLUDE_DIR)
ifeq ($(SAN),1)
  OUT := out/sanitize$(PYTAG)
  CFLAGS_ALL := $(CFLAGS_BASE) $(SANITIZE) $(CFLAGS)
  LDSAN := $(filter -fsanitize=%,$(SANITIZE))
else
  OUT := out/release$(PYTAG)
  CFLAGS_ALL := $(CFLAGS_BASE) $(RELEASE) $(CFLAGS)
  LDSAN :=
endif

CORE_C := $(wildcard $(CORE_SRC))
CLI_C := $(wildcard $(CLI_SRC))
CORE_OBJ := $(CORE_C:src/%.c=$(OUT)/%.o)
CLI_OBJ := $(CLI_C:src/%.c=$(OUT)/%.o)
HEADERS := $(wildcard src/*/*.h)

CTEST_SRC := $(wildcard tests/unit/c/test_*.c)
CTEST_BIN := $(CTEST_SRC:tests/unit/c/%.c=$(OUT)/tests/%)
MEMLINE_BIN := $(OUT)/memline

# The virtual environments.  The developer one gets the package built with
# warnings as errors; the sanitizer one a build of its own.
VENV ?= .venv$(PYTAG)
VPY := $(VENV)/bin/python
SAN_VENV ?= .venv-sanitize$(PYTAG)
SAN_VPY := $(SAN_VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: all install bin venv test ctest pytest test-asan demo compat-check clean

all: install bin

# V=1 shows the compiler's command lines.
ifeq ($(V),1)
  Q :=
  SAY := @true
else
  Q := @
  SAY := @echo
endif

$(OUT)/%.o: src/%.c $(HEADERS) build.cfg
	@mkdir -p $(dir $@)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(MEMLINE_BIN): $(OUT)/cli/main.o $(CLI_OBJ) $(CORE_OBJ)
	$(SAY) "  LINK    $@"
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LIBS)

bin: $(MEMLINE_BIN)

$(OUT)/tests/%: tests/unit/c/%.c tests/unit/c/ctest.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(CORE_OBJ) $(LIBS)

ctest: $(CTEST_BIN)
	@set -e; for t in $(CTEST_BIN); do $$t; done

# A venv with the test dependencies, and the build tools, so the package
# builds without network isolation (the same setuptools every time).
define make_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install $(PIP_QUIET) --upgrade pip setuptools wheel
	$(1)/bin/python -m pip install $(PIP_QUIET) -r requirements/test.txt
	touch $(1)/.stamp
endef

$(VENV)/.stamp: requirements/test.txt
	$(call make_venv,$(VENV))

$(SAN_VENV)/.stamp: requirements/test.txt
	$(call make_venv,$(SAN_VENV))

venv: $(VENV)/.stamp

# pip decides what to rebuild (setuptools compares the sources and headers
# with the built module), so this runs every time and is quick when nothing
# changed.
install: $(VENV)/.stamp
	MEMLINE_DEV=1 $(VPY) -m pip install $(PIP_QUIET) --no-build-isolation --no-deps .

pytest: install bin
	cd tests && MEMLINE_BIN=$(CURDIR)/$(MEMLINE_BIN) ../$(VPY) -m pytest -q -p no:cacheprovider .

test: ctest pytest

# The whole suite again, against the package and the C tests built with
# AddressSanitizer and UBSan, asserts on.  The interpreter is not
# instrumented, so the runtime is preloaded; leaks are the interpreter's
# business, not checked.  A small quarantine still catches use-after-free
# of small blocks and lets big freed blocks go back to the OS at once, as
# the RSS tests expect.  The native hooks, which step aside from ASan by
# default, run too (MEMLINE_NATIVE_ALLOW_SANITIZER), to be checked by it.
ASAN_RT = $(shell $(CC) -print-file-name=libasan.so)
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=8 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LD_PRELOAD=$(ASAN_RT) PYTHONMALLOC=malloc MEMLINE_NATIVE_ALLOW_SANITIZER=1 \
  MEMLINE_BIN=$(CURDIR)/out/sanitize$(PYTAG)/memline
test-asan: $(SAN_VENV)/.stamp
	$(MAKE) SAN=1 ctest bin
	MEMLINE_DEV=1 MEMLINE_SANITIZE=1 $(SAN_VPY) -m pip install $(PIP_QUIET) --no-build-isolation --no-deps .
	cd tests && $(SAN_ENV) ../$(SAN_VPY) -m pytest -q -p no:cacheprovider .

demo: install
	cd examples && ../$(VPY) -m memline seed_big.py
	cd examples && ../$(VPY) -m memline seed_gen.py

# Installs the package into a bare venv of every other CPython 3.8-3.13
# found under pyenv and runs the seed example, to keep the version guards
# honest.  (CI runs the whole suite on 3.8, 3.12 and 3.13 instead.)
compat-check:
	@set -e; for py in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.*/bin/python3 2>/dev/null); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue; \
	  case $$v in 3.8|3.9|3.10|3.11|3.12|3.13) ;; *) continue ;; esac; \
	  venv=out/compat/$$v; [ -x $$venv/bin/python ] || $$py -m venv $$venv; \
	  $$venv/bin/python -m pip install $(PIP_QUIET) setuptools >/dev/null; \
	  $$venv/bin/python -m pip install $(PIP_QUIET) --no-build-isolation . >/dev/null; \
	  out=$$(cd examples && ../$$venv/bin/python -m memline --precision 1 seed_big.py); \
	  if echo "$$out" | grep -q "152.6 MiB  *1 .*b = \[2\]"; then echo "$$v: ok"; \
	  else echo "$$v: FAILED"; echo "$$out"; exit 1; fi; \
	done

clean:
	rm -rf build out src/*.egg-info

-include mk/*.mk
