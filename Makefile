# mrl — build, test, bench. `make` builds bin/; `make test` runs every test.
# Variables: NATIVE=1 (-march=native), CUDA=0|1 (default: 1 where nvcc is found),
# PREFIX (install), CC, NVCC, CUDA_ARCH.

# Recipes run in bash with pipefail: a stage that fails inside `msample | mreward -o F` fails
# the recipe (the pipelines' recipes remove F then), instead of leaving F looking finished.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

PREFIX    ?= /usr/local
CC        ?= cc
NATIVE    ?= 0
NVCC      ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA      ?= $(if $(NVCC),1,0)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=compute_90   # PTX: newer GPUs compile it at load time
VERSION   := 0.1.0

# The target's architecture is the compiler's, not the build machine's: a cross compiler
# (CC=aarch64-linux-gnu-gcc on x86-64) was given -march=x86-64-v2 ("unknown value for -march").
CC_ARCH := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
ifeq ($(NATIVE),1)
  ARCHFLAGS := -march=native
else ifeq ($(CC_ARCH),x86_64)
  ARCHFLAGS := -march=x86-64-v2 -mtune=generic
else
  ARCHFLAGS :=
endif

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
# OpenBLAS is opened by the CPU backend (kernels/cpu/blas.c) under this name, not linked: linked, it
# starts a thread pool mrl never uses, whose buffers hang a tool under `ulimit -v`
OPENBLAS_SO ?= libopenblas.so.0
CPPFLAGS += -Ilibcore -Ikernels -D_GNU_SOURCE -DMRL_VERSION='"$(VERSION)"' -DMRL_OPENBLAS_SO='"$(OPENBLAS_SO)"' $(shell pkg-config --cflags-only-I openblas 2>/dev/null)
# GCC's -O2 vectorises a loop only where no alias check or remainder loop is needed ("very
# cheap"): the row loops of RMSNorm, rotary embedding and the bias add stayed scalar. The
# dynamic cost model vectorises them (+3-5 % on a bf16 training step of `small`); it never
# reorders a sum (no -ffast-math), so results keep their bits. (clang has no such flag.)
VECTFLAGS := $(shell $(CC) -fvect-cost-model=dynamic -E -x c /dev/null >/dev/null 2>&1 && echo -fvect-cost-model=dynamic)
ALLCFLAGS = -std=c11 -ffp-contract=off $(ARCHFLAGS) $(VECTFLAGS) -fopenmp -Wall -Wextra -MMD -MP $(CFLAGS)
LDLIBS   += -lzstd -lpcre2-8 -ljq -lonig -lutf8proc -lm -lpthread -ldl
LDFLAGS  += -fopenmp -Wl,--as-needed   # as gcc on Debian does by default: a tool loads only the libraries it uses (clang did not)

B   ?= build
BIN ?= bin
LIB_SRC  := $(sort $(wildcard libcore/*.c) $(wildcard kernels/*.c) $(wildcard kernels/cpu/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
TOOLS    := $(sort $(basename $(notdir $(wildcard tools/*.c))))
BINS     := $(TOOLS:%=$(BIN)/%)
UTESTS   := $(sort $(basename $(notdir $(wildcard tests/unit/test_*.c))))
UTEST_BINS := $(UTESTS:%=$(B)/tests/%)
GTESTS   := $(sort $(basename $(notdir $(wildcard tests/gpu/test_*.c))))
GTEST_BINS := $(GTESTS:%=$(B)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

ifeq ($(CUDA),1)
  CU_SRC  := $(sort $(wildcard kernels/cuda/*.cu))
  CU_OBJ  := $(CU_SRC:%.cu=$(B)/%.o)
  CPPFLAGS += -DMRL_CUDA=1 -I$(CUDA_HOME)/include
  LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublasLt -lcublas -lcudart -lstdc++
  NVCCFLAGS ?= -O3 -std=c++17 $(CUDA_ARCH) -Ilibcore -Ikernels -DMRL_CUDA=1 -Xcompiler -fPIC,-Wall --expt-relaxed-constexpr -MMD -MP
else
  CU_OBJ  :=
endif

.PHONY: all test test-unit test-cli test-gpu test-asan bench bench-gpu fuzz install clean demo help
all: $(BINS)

# The build's configuration as a file: switching it (make CUDA=0 after make, in the same B)
# rebuilds every object instead of linking CUDA objects into a CPU-only program.
CONFIG_STAMP := $(B)/.config-cuda$(CUDA)
$(CONFIG_STAMP):
	@mkdir -p $(@D); rm -f $(B)/.config-cuda*; touch $@

$(B)/libmrl.a: $(LIB_OBJ) $(CU_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(B)/%.o: %.c $(CONFIG_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

$(B)/%.o: %.cu $(CONFIG_STAMP)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BIN)/%: $(B)/tools/%.o $(B)/libmrl.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/libmrl.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/%: $(B)/tests/gpu/%.o $(B)/libmrl.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# data generators in testdata/ (the demo's problems)
$(B)/testdata/%: testdata/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $< -o $@

$(B)/bench/%: $(B)/bench/%.o $(B)/libmrl.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test runner: unit test binaries, then the CLI cases in tests/cli/*.t,
# then the GPU parity tests (they skip where no GPU is present).
# A test binary or case file still running after TEST_TIMEOUT seconds is stopped and counted
# failed (a hang must not stall CI); no test asserts a speed: that is bench's. MRL_BIN quoted: a
# tree under a path with a space ran "x/bin: No such file or directory" and no test.
TEST_TIMEOUT ?= 900
test: all $(UTEST_BINS) $(GTEST_BINS)
	@MRL_BIN='$(abspath $(BIN))' MRL_TEST_TIMEOUT=$(TEST_TIMEOUT) tests/run.sh $(UTEST_BINS) $(GTEST_BINS) -- tests/cli/*.t tests/gpu/*.t

test-unit: all $(UTEST_BINS)
	@MRL_BIN='$(abspath $(BIN))' MRL_TEST_TIMEOUT=$(TEST_TIMEOUT) tests/run.sh $(UTEST_BINS) --

test-cli: all
	@MRL_BIN='$(abspath $(BIN))' MRL_TEST_TIMEOUT=$(TEST_TIMEOUT) tests/run.sh -- tests/cli/*.t

test-gpu: all $(GTEST_BINS)
	@MRL_BIN='$(abspath $(BIN))' MRL_REQUIRE_GPU=1 MRL_TEST_TIMEOUT=$(TEST_TIMEOUT) tests/run.sh $(GTEST_BINS) -- tests/gpu/*.t

# Loaders and parsers under AddressSanitizer + UBSan (CUDA off); the summary line last, as make
# test (the sub-make's "Leaving directory" came after it).
test-asan:
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 LSAN_OPTIONS='suppressions="$(CURDIR)/tests/lsan.supp"' \
	  $(MAKE) --no-print-directory B=build-asan BIN=build-asan/bin CUDA=0 OPT=-O1 CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
	  LDFLAGS="-fopenmp -fsanitize=address,undefined" test

bench: all $(BENCH_BINS)
	bench/run.sh

bench-gpu: all $(BENCH_BINS)
	bench/run-gpu.sh

fuzz:
	tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/man7/*.7 $(DESTDIR)$(PREFIX)/share/man/man7

clean:
	rm -rf $(B) build-asan $(BIN)

# the targets, as README describes them (make help was "No rule to make target 'help'")
help:
	@echo 'make                the tools into $(BIN)/ (CUDA=0|1, NATIVE=1, B= BIN= build and tool directories)'
	@echo 'make test           every test; ends "N passed, N failed, N skipped" (parts: test-unit, test-cli, test-gpu; test-asan: all under ASan/UBSan)'
	@echo 'make demo           the whole loop on CPU, nothing downloaded (DEMO_* in pipelines/demo.mk; demo-clean)'
	@echo 'make exp1|exp2|exp3 MODEL=DIR DATA=FILE   the Open-RS runs (make -n shows the commands; pipelines/exp.mk)'
	@echo 'make data-exp2 OPEN_S1= OPEN_DEEPSCALER= DEEPSCALER=   the exp2/exp3 problem mix'
	@echo 'make eval RUN=DIR [STEP=N] BENCH_DIR=DIR   the five benchmarks as a Table-2 row'
	@echo 'make plot RUN=DIR   a run'"'"'s metrics.png'
	@echo 'make bench, bench-gpu, fuzz, install (PREFIX=), clean'

-include pipelines/*.mk
-include $(shell find $(B) -name '*.d' 2>/dev/null)
# The objects between a program and its source are kept (make deletes intermediates); only
# these: a bare .SECONDARY: made every file secondary, the configuration stamp and the CUDA
# objects too, and a missing secondary file is not remade, so make CUDA=1 in a CPU-only B
# linked no CUDA (and CUDA=0 after CUDA=1 rebuilt nothing), against the stamp's promise above.
.SECONDARY: $(TOOLS:%=$(B)/tools/%.o) $(UTESTS:%=$(B)/tests/unit/%.o) $(GTESTS:%=$(B)/tests/gpu/%.o) \
            $(BENCH_SRC:bench/%.c=$(B)/bench/%.o)
