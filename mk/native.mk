# The native allocator hooks' C tests (tests/unit/c/native/): test
# libraries built with the link options each case needs (full RELRO, lazy
# binding, RUNPATH and RPATH with $ORIGIN, another GOT-patching tool), the
# test programs, and a micro-benchmark.  `make ctest` runs them with the
# other C tests.  Under SAN=1 the hooks run with allow_sanitizer (by default
# they step aside from ASan, whose interceptors allocate where no hook sees).

NATIVE_DIR := tests/unit/c/native
NB := $(OUT)/native
NATIVE_CFLAGS := $(CFLAGS_ALL) -I$(NATIVE_DIR) -Itests/unit/c
# -fno-builtin keeps every malloc/free of the test libraries a real call.
NATIVE_LIBFLAGS := $(NATIVE_CFLAGS) -fno-builtin -fno-optimize-sibling-calls -shared
NATIVE_LIBS := $(NB)/libnalloc.so $(NB)/libndl.so $(NB)/rp/libnrp.so $(NB)/rp2/libnrp2.so \
  $(NB)/libfaketool.so $(NB)/libnativehook_test.so
NATIVE_TESTS := $(NB)/test_native_units $(NB)/test_native_hooks $(NB)/test_native_stress \
  $(NB)/test_native_nopie
NATIVE_HDR := $(wildcard $(NATIVE_DIR)/*.h) tests/unit/c/ctest.h $(HEADERS)
# The test programs hold the hooks themselves (so they are the object
# symhook leaves alone) and find libnalloc through RUNPATH $ORIGIN only.
NATIVE_LINK := -L$(NB) -lnalloc -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN' $(LIBS)
# The hooks' own sources, for the libraries that carry a copy.
HOOK_SRC := src/core/symhook_elf.c src/core/elfdyn.c src/core/nativehook.c src/core/memcount.c src/core/anonmap.c \
  src/core/dlsearch_glibc.c src/core/mlalloc.c src/core/mlerr.c

.PHONY: native-test native-bench

# Full RELRO and BIND_NOW: its GOT is read-only and already resolved;
# RUNPATH (new dtags) $ORIGIN/rp, where only it finds libnrp.so.
$(NB)/libnalloc.so: $(NATIVE_DIR)/nalloc.c $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  LIB     $@"
	$(Q)$(CC) $(NATIVE_LIBFLAGS) -Wl,-z,relro,-z,now -Wl,--enable-new-dtags \
	    -Wl,-rpath,'$$ORIGIN/rp' $< -o $@ -ldl

# Lazy binding, partial RELRO, old-style DT_RPATH $ORIGIN/rp2.
$(NB)/libndl.so: $(NATIVE_DIR)/ndl.c $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  LIB     $@"
	$(Q)$(CC) $(NATIVE_LIBFLAGS) -Wl,-z,relro,-z,lazy -Wl,--disable-new-dtags \
	    -Wl,-rpath,'$$ORIGIN/rp2' $< -o $@ -ldl

$(NB)/rp/libnrp.so $(NB)/rp2/libnrp2.so: $(NATIVE_DIR)/nrp.c $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  LIB     $@"
	$(Q)$(CC) $(NATIVE_LIBFLAGS) $< -o $@

# Another GOT-patching tool, with a private copy of symhook.
$(NB)/libfaketool.so: $(NATIVE_DIR)/faketool.c $(HOOK_SRC) $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  LIB     $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) -shared -fvisibility=hidden $(NATIVE_DIR)/faketool.c \
	    src/core/symhook_elf.c src/core/elfdyn.c src/core/mlalloc.c src/core/mlerr.c -o $@ -ldl

# The hooks as a library of their own, as in memline's extension.
$(NB)/libnativehook_test.so: $(NATIVE_DIR)/hooklib.c $(HOOK_SRC) $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  LIB     $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) -shared -fvisibility=hidden $< $(HOOK_SRC) -o $@ $(LIBS)

$(NB)/test_native_units: $(NATIVE_DIR)/test_units.c $(CORE_OBJ) $(NATIVE_HDR)
	@mkdir -p $(dir $@)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(NATIVE_CFLAGS) $< $(CORE_OBJ) -o $@ $(LIBS)

$(NB)/test_native_hooks: $(NATIVE_DIR)/test_hooks.c $(CORE_OBJ) $(NATIVE_LIBS)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(NATIVE_CFLAGS) $< $(CORE_OBJ) -o $@ $(NATIVE_LINK)

$(NB)/test_native_stress: $(NATIVE_DIR)/test_stress.c $(CORE_OBJ) $(NB)/libnalloc.so
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(NATIVE_CFLAGS) $< $(CORE_OBJ) -o $@ $(NATIVE_LINK)

# Non-PIE and taking malloc's address: see the test's header.
$(NB)/test_native_nopie: $(NATIVE_DIR)/test_nopie.c $(NB)/libnalloc.so $(NB)/libnativehook_test.so
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(filter-out -fPIC,$(NATIVE_CFLAGS)) -fno-pie -no-pie $< -o $@ $(NATIVE_LINK)

$(NB)/native_hooks_bench: bench/native_hooks.c $(CORE_OBJ) $(NB)/libnalloc.so
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(NATIVE_CFLAGS) $< $(CORE_OBJ) -o $@ $(NATIVE_LINK)

# ASan would abort on the tests' deliberate reallocarray overflow instead of
# returning NULL as glibc does; leaks are checked.
native-test: $(NATIVE_TESTS) $(NATIVE_LIBS)
	@set -e; for t in $(NATIVE_TESTS); do \
	  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 $$t; done

ctest: native-test

native-bench: $(NB)/native_hooks_bench
	$(NB)/native_hooks_bench
