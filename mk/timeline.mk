# The timeline's extras: the fuzzers of the .dat parser and of the JSON
# report reader (memline diff's input), the sampler's overhead benchmark
# and the readers' scale check against mprof.  (The standalone binary is
# built by the Makefile.)

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := out/fuzz
FUZZ_SRC := src/core/datfile.c src/core/escape.c src/core/mlalloc.c src/core/mlerr.c \
  src/core/plot.c src/core/plot_html.c src/core/plot_svg.c src/core/plot_geom.c src/core/repw.c src/core/sbuf.c

FUZZ_JSON_SRC := src/core/json.c src/core/repdoc.c src/core/report_json.c src/core/report_html.c \
  src/core/report_html_assets.c src/core/repdiff.c src/core/repdiff_out.c src/core/repw.c \
  src/core/linetab.c src/core/escape.c src/core/mlalloc.c src/core/mlerr.c src/core/sbuf.c

.PHONY: fuzz fuzz-build bench-timeline bench-scale print-memline

# libFuzzer on the .dat parser, for FUZZ_SECONDS, from the seed corpus in
# tests/fuzz/corpus (new inputs go to out/fuzz/corpus, not the tree).
$(FUZZ_DIR)/fuzz_datfile: tests/fuzz/fuzz_datfile.c $(FUZZ_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined \
	  -I$(INCLUDE_DIR) -o $@ tests/fuzz/fuzz_datfile.c $(FUZZ_SRC)

# The same for the JSON reader, from tests/fuzz/corpus_json (real reports).
$(FUZZ_DIR)/fuzz_json: tests/fuzz/fuzz_json.c $(FUZZ_JSON_SRC) $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined \
	  -I$(INCLUDE_DIR) -o $@ tests/fuzz/fuzz_json.c $(FUZZ_JSON_SRC)

fuzz-build: $(FUZZ_DIR)/fuzz_datfile $(FUZZ_DIR)/fuzz_json

# Each fuzzer runs FUZZ_SECONDS.
fuzz: $(FUZZ_DIR)/fuzz_datfile $(FUZZ_DIR)/fuzz_json
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/corpus_json
	$(FUZZ_DIR)/fuzz_datfile -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -print_final_stats=1 $(FUZZ_DIR)/corpus tests/fuzz/corpus
	$(FUZZ_DIR)/fuzz_json -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -print_final_stats=1 $(FUZZ_DIR)/corpus_json tests/fuzz/corpus_json

bench: bench-timeline bench-scale
bench-timeline: $(MEMLINE_BIN)
	$(PYTHON) bench/bench_timeline.py --memline $(MEMLINE_BIN)

# 200k distinct functions and 2M FUNC lines: memline's readers beside
# mprof's (from the bench's venv), ratios in one run.
bench-scale: $(MEMLINE_BIN) bench-venv
	$(BENCH_VPY) bench/bench_scale.py --memline $(MEMLINE_BIN) --mprof $(BENCH_VENV)/bin/mprof

# Where the binary is, for tests: make -s print-memline
print-memline:
	@echo $(MEMLINE_BIN)
