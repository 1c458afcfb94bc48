# The benchmark.  `make bench` builds the floor (a no-op C tracer), makes
# the bench's own virtual environment from requirements/bench.txt with
# memline installed into it as users install it (pip install .), and runs
# bench/run.py, which prints the table and writes bench/results.md.
# `make bench-quick` does the same with fewer repetitions and smaller
# sizes.  BENCH_ARGS passes more options to run.py.  Both also run
# bench/pytest_overhead.py: the pytest plugin loaded but unused against
# -p no:memline, the same suites side by side (bench/pytest_results.md);
# `make bench-pytest` runs that part alone.  And bench/select_overhead.py:
# code that -p does not select, with some 2,400 functions selected, one, or
# none (bench/select_results.md); `make bench-select` runs that part alone.
# And bench/procs_overhead.py: pools of each start method and short-lived
# workers under memline against plain python (bench/procs_results.md);
# `make bench-procs` runs that part alone.

BENCH_VENV ?= out/bench-venv$(PYTAG)
BENCH_VPY := $(BENCH_VENV)/bin/python
FLOOR_DIR := $(OUT)/bench
FLOOR_EXT := $(FLOOR_DIR)/_floor$(EXT_SUFFIX)
PY_INC := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])")
BENCH_ARGS ?=

.PHONY: bench bench-quick bench-venv bench-install bench-pytest bench-select bench-procs

$(FLOOR_EXT): bench/floor/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -fPIC -shared -O2 $(WARN) $(DEV_WARN) -I$(PY_INC) $< -o $@

# One package at a time, so that one that cannot be installed here does not
# keep the others out; the bench says in its table which ones are missing.
$(BENCH_VENV)/.stamp: requirements/bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VPY) -m pip install $(PIP_QUIET) --upgrade pip setuptools wheel
	@grep -v '^\s*\(#\|$$\)' $< | while read -r req; do \
	  $(BENCH_VPY) -m pip install $(PIP_QUIET) "$$req" || echo "bench: could not install $$req"; \
	done
	touch $@

bench-venv: $(BENCH_VENV)/.stamp

bench-install: bench-venv
	$(BENCH_VPY) -m pip install $(PIP_QUIET) --no-build-isolation --no-deps .

bench: bench-install $(FLOOR_EXT)
	$(BENCH_VPY) bench/run.py --floor-dir $(FLOOR_DIR) $(BENCH_ARGS)
	@echo; echo "Default RSS rule against rss-exact (largest per-line difference):"
	@cd bench && $(CURDIR)/$(BENCH_VPY) rule_diff.py | tee rule_diff.md
	@echo; echo "The pytest plugin loaded but unused, against -p no:memline:"
	$(BENCH_VPY) bench/pytest_overhead.py
	@echo; echo "Many selected functions (-p), against none:"
	$(BENCH_VPY) bench/select_overhead.py
	@echo; echo "Child processes profiled, against plain python:"
	$(BENCH_VPY) bench/procs_overhead.py

bench-quick: bench-install $(FLOOR_EXT)
	$(BENCH_VPY) bench/run.py --quick --floor-dir $(FLOOR_DIR) $(BENCH_ARGS)
	@echo; echo "Default RSS rule against rss-exact (largest per-line difference):"
	@cd bench && $(CURDIR)/$(BENCH_VPY) rule_diff.py --quick
	@echo; echo "The pytest plugin loaded but unused, against -p no:memline:"
	$(BENCH_VPY) bench/pytest_overhead.py --quick --out $(OUT)/bench/pytest_results.md
	@echo; echo "Many selected functions (-p), against none:"
	$(BENCH_VPY) bench/select_overhead.py --quick --out $(OUT)/bench/select_results.md
	@echo; echo "Child processes profiled, against plain python:"
	$(BENCH_VPY) bench/procs_overhead.py --quick --out $(OUT)/bench/procs_results.md

# The pytest plugin's part alone.
bench-pytest: bench-install
	$(BENCH_VPY) bench/pytest_overhead.py $(BENCH_ARGS)

# The selectors' part alone.
bench-select: bench-install
	$(BENCH_VPY) bench/select_overhead.py $(BENCH_ARGS)

# The child processes' part alone.
bench-procs: bench-install
	$(BENCH_VPY) bench/procs_overhead.py $(BENCH_ARGS)
