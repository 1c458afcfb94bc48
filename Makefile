# memline's build.  `make` builds the extension in place (memline/) and the
# standalone binary; `make test` runs the C unit tests and the Python suite;
# `make demo` profiles the seed's examples; `make bench` measures.
# PYTHON picks the interpreter; the virtual environment is made from it.

PYTHON ?= python3
SAN ?= 0

PY_INC := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])")
EXT_SUFFIX := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")

CC ?= cc
WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
OPT ?= -O2 -g
# One build directory per configuration and interpreter (EXT_SUFFIX names
# the interpreter), so builds for several Pythons do not mix objects.
PYTAG := $(basename $(EXT_SUFFIX))

# One virtual environment per interpreter, so PYTHON=... never runs the
# tests on another interpreter's environment.
VENV ?= .venv$(PYTAG)
VPY := $(VENV)/bin/python

ifeq ($(SAN),1)
  BUILD := build/san$(PYTAG)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  BUILD := build/rel$(PYTAG)
  SANFLAGS :=
endif
CFLAGS_ALL := -std=c11 -D_GNU_SOURCE -fPIC $(OPT) $(WARN) $(SANFLAGS) $(CFLAGS)

CORE_SRC := $(wildcard src/core/*.c)
BIND_SRC := $(wildcard src/binding/*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o)
BIND_OBJ := $(BIND_SRC:src/%.c=$(BUILD)/%.o)
EXT := memline/_memline$(EXT_SUFFIX)

CTEST_SRC := $(wildcard tests/c/test_*.c)
CTEST_BIN := $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)

.PHONY: all ext venv test ctest pytest test-asan demo bench clean compat-check

all: ext

-include mk/*.mk

$(BUILD)/core/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/binding/%.o: src/binding/%.c $(wildcard src/binding/*.h src/core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(PY_INC) -c $< -o $@

$(BUILD)/_memline.so: $(CORE_OBJ) $(BIND_OBJ)
	$(CC) -shared $(SANFLAGS) -o $@ $^ -lpthread

# The in-place copy follows whichever build (plain or sanitized) ran last.
ext: $(BUILD)/_memline.so
	@cmp -s $< $(EXT) || cp $< $(EXT)

$(BUILD)/tests/%: tests/c/%.c tests/c/ctest.h $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Isrc/core -o $@ $< $(CORE_OBJ) -lpthread

ctest: $(CTEST_BIN)
	@set -e; for t in $(CTEST_BIN); do $$t; done

# The venv sees this tree's memline (built in place by `ext`) through a .pth
# file, so `$(VENV)/bin/python -m memline` works from anywhere.
$(VENV)/.stamp: requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements/test.txt
	$(VPY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" | \
	  xargs -I{} sh -c 'echo "$(CURDIR)" > {}/memline-source-tree.pth'
	touch $@

venv: $(VENV)/.stamp

# The suites that trace run again with the legacy tracer backend, which
# 3.11 uses under another frame evaluator and other versions always use.
LEGACY_TESTS := tests/api tests/heap tests/cli/test_profile_cli.py

pytest: venv ext
	PYTHONPATH=$(CURDIR) $(VPY) -m pytest -q tests
	MEMLINE_TRACER=legacy PYTHONPATH=$(CURDIR) $(VPY) -m pytest -q $(LEGACY_TESTS)

test: ctest pytest

# The whole suite again, with the extension and the C tests built with
# AddressSanitizer and UBSan.  The interpreter is not instrumented, so the
# runtime is preloaded; leaks are the interpreter's business, not checked.
# A small quarantine still catches use-after-free of small blocks, and lets
# big freed blocks go back to the OS at once, as the RSS tests expect.
ASAN_RT = $(shell $(CC) -print-file-name=libasan.so)
test-asan: venv
	$(MAKE) SAN=1 ext ctest
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=8 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LD_PRELOAD=$(ASAN_RT) PYTHONPATH=$(CURDIR) PYTHONMALLOC=malloc \
	  MEMLINE_BIN=$(CURDIR)/build/san$(PYTAG)/memline \
	  $(VPY) -m pytest -q -p no:cacheprovider tests
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=8 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LD_PRELOAD=$(ASAN_RT) PYTHONPATH=$(CURDIR) PYTHONMALLOC=malloc \
	  MEMLINE_BIN=$(CURDIR)/build/san$(PYTAG)/memline MEMLINE_TRACER=legacy \
	  $(VPY) -m pytest -q -p no:cacheprovider $(LEGACY_TESTS)
	$(MAKE) SAN=0 ext

demo: venv ext
	cd examples && PYTHONPATH=$(CURDIR) ../$(VPY) -m memline seed_big.py
	cd examples && PYTHONPATH=$(CURDIR) ../$(VPY) -m memline seed_gen.py

# Builds and smoke-tests the extension with every other CPython 3.8-3.13
# found on PATH or under pyenv, to keep the version guards honest.
compat-check:
	@set -e; for py in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.*/bin/python3 2>/dev/null); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue; \
	  case $$v in 3.8|3.9|3.10|3.11|3.12|3.13) ;; *) continue ;; esac; \
	  $(MAKE) --no-print-directory PYTHON=$$py ext >/dev/null; \
	  out=$$(PYTHONPATH=$(CURDIR) $$py -m memline --precision 1 examples/seed_big.py); \
	  if echo "$$out" | grep -q "152.6 MiB  *1 .*b = \[2\]"; then echo "$$v: ok"; \
	  else echo "$$v: FAILED"; echo "$$out"; exit 1; fi; \
	done

clean:
	rm -rf build memline/_memline*.so
