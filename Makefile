# lienthong: build, test and demo. `make demo` and `make test` install what they need themselves.
#
#   make            release build of ./lienthong
#   make test       unit tests (ASan+UBSan) and end-to-end tests against the ASan binary
#   make demo       sandbox national portal + gateway + sample dossiers (DEMO_ONCE=1: exit after)
#   make check-config  `lienthong check` on conf/lienthong.yaml
#   make bench     lienthong beside nginx, njs and node (bench/; BENCH_QUICK=1 for a 1-minute try)

CC      ?= cc
PKGS    := libevent libevent_pthreads libcurl openssl yaml-0.1 jansson libxml-2.0 sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wwrite-strings -Wpointer-arith -Wformat=2 -Wvla -Wundef -Wimplicit-fallthrough \
           -Wno-format-nonliteral
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
DEFS    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
           -DLT_VERSION=\"$(VERSION)\"
INC     := -I.

REL_CFLAGS  := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer $(SAN)
ASAN_LDFLAGS := $(SAN)

SRCS     := $(sort $(wildcard gateway/*.c adapters/*.c))
LIB_SRCS := $(filter-out gateway/main.c,$(SRCS))
HDRS     := $(wildcard gateway/*.h adapters/*.h)

REL_OBJS  := $(SRCS:%.c=build/release/%.o)
ASAN_OBJS := $(SRCS:%.c=build/asan/%.o)
ASAN_LIB  := $(LIB_SRCS:%.c=build/asan/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)

PYTHON  := /usr/bin/python3
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all deps asan unit e2e test demo certs check-config clean fuzz fuzz-replay bench
all: lienthong

deps:
	@scripts/install-deps

lienthong: build/release/lienthong
	cp $< $@

build/release/lienthong: $(REL_OBJS)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build/release/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(DEFS) $(INC) $(WARN) $(REL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

asan: build/asan/lienthong

build/asan/lienthong: $(ASAN_OBJS)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(DEFS) $(INC) $(WARN) $(ASAN_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC test $<"
	@$(CC) $(DEFS) $(INC) $(WARN) -Wno-missing-prototypes -Wno-write-strings $(ASAN_CFLAGS) $(PKG_CFLAGS) \
		-o $@ $< $(ASAN_LIB) $(ASAN_LDFLAGS) $(PKG_LIBS) -lcmocka -lm

# Unit tests run from the tests/unit folder so fixtures are found by relative path.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; (cd tests/unit && ../../$$t); done

e2e: build/asan/lienthong
	LIENTHONG_BIN=$(CURDIR)/build/asan/lienthong $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

# The release build is part of the test: -O2 finds warnings (-Werror) that -O1 does not.
test: deps
	$(MAKE) lienthong
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) e2e

# Fuzzing (tests/fuzz/README.md): every module but main.c built with clang and coverage, linked
# with each target's driver. fuzz-replay runs each seed corpus once; fuzz runs each target for
# FUZZ_SECONDS, new inputs going to build/fuzz/new-TARGET (the seed corpus is only read).
FUZZ_CC      := clang
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN := 65536
# clang does not read the /* fall through */ comments gcc honours; the gcc builds check fall-through.
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
                -Wno-implicit-fallthrough
FUZZ_TARGETS := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/fuzz/*/fuzz.c))))
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_LIB     := $(LIB_SRCS:%.c=build/fuzz/%.o)
.SECONDARY: $(FUZZ_LIB)

build/fuzz/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) $(DEFS) $(INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/%/fuzz.c $(FUZZ_LIB) $(HDRS) tests/fuzz/roundtrip.h
	@echo "  LD fuzz $@"
	@$(FUZZ_CC) $(DEFS) $(INC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB) \
		$(PKG_LIBS) -lm

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz-replay $$t"; \
		build/fuzz/fuzz_$$t -runs=0 -max_len=$(FUZZ_MAX_LEN) tests/fuzz/$$t/corpus >build/fuzz/replay-$$t.log 2>&1 \
		|| { cat build/fuzz/replay-$$t.log; exit 1; }; tail -n 1 build/fuzz/replay-$$t.log; done

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz $$t for $(FUZZ_SECONDS)s"; mkdir -p build/fuzz/new-$$t; \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
		-dict=tests/fuzz/$$t/$$t.dict -artifact_prefix=build/fuzz/ build/fuzz/new-$$t tests/fuzz/$$t/corpus; done

certs:
	@certs/gen.sh certs/dev

check-config: lienthong certs
	./lienthong check -c conf/lienthong.yaml

demo: deps
	$(MAKE) lienthong
	@certs/gen.sh certs/dev
	@scripts/demo.sh

# The benchmark (bench/README.md): not part of `make test`. bench/map links the mapping engine
# exactly as the release binary does.
REL_LIB := $(filter-out build/release/gateway/main.o,$(REL_OBJS))
build/release/bench/map: bench/map.c $(REL_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(DEFS) $(INC) $(WARN) $(REL_CFLAGS) $(PKG_CFLAGS) $(REL_LDFLAGS) -o $@ $< $(REL_LIB) $(PKG_LIBS) -lm

bench: lienthong build/release/bench/map
	@bench/setup
	$(PYTHON) bench/run.py

clean:
	rm -rf build lienthong
