# The benchmark (issue 4).  `make bench` builds memline and the floor (a
# no-op C tracer), makes the bench's own virtual environment from
# requirements/bench.txt, and runs bench/run.py, which prints the table and
# writes bench/results.md.  `make bench-quick` does the same with fewer
# repetitions and smaller sizes.  BENCH_ARGS passes more options to run.py.

BENCH_VENV ?= $(BUILD)/bench-venv
BENCH_VPY := $(BENCH_VENV)/bin/python
FLOOR_DIR := $(BUILD)/bench
FLOOR_EXT := $(FLOOR_DIR)/_floor$(EXT_SUFFIX)
BENCH_ARGS ?=

.PHONY: bench bench-quick bench-venv

$(FLOOR_EXT): bench/floor/floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -fPIC -shared -O2 $(WARN) -I$(PY_INC) $< -o $@

# One package at a time, so that one that cannot be installed here does not
# keep the others out; the bench says in its table which ones are missing.
$(BENCH_VENV)/.stamp: requirements/bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VPY) -m pip install --quiet --upgrade pip
	@grep -v '^\s*\(#\|$$\)' $< | while read -r req; do \
	  $(BENCH_VPY) -m pip install --quiet "$$req" || echo "bench: could not install $$req"; \
	done
	touch $@

bench-venv: $(BENCH_VENV)/.stamp

bench: ext bench-venv $(FLOOR_EXT)
	PYTHONPATH=$(CURDIR) $(BENCH_VPY) bench/run.py --floor-dir $(FLOOR_DIR) $(BENCH_ARGS)
	@echo; echo "Default RSS rule against rss-exact (largest per-line difference):"
	@cd bench && PYTHONPATH=$(CURDIR) $(CURDIR)/$(BENCH_VPY) rule_diff.py | tee rule_diff.md

bench-quick: ext bench-venv $(FLOOR_EXT)
	PYTHONPATH=$(CURDIR) $(BENCH_VPY) bench/run.py --quick --floor-dir $(FLOOR_DIR) $(BENCH_ARGS)
	@echo; echo "Default RSS rule against rss-exact (largest per-line difference):"
	@cd bench && PYTHONPATH=$(CURDIR) $(CURDIR)/$(BENCH_VPY) rule_diff.py --quick
