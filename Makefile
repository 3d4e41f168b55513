# lienthong: build, test and demo. `make demo` and `make test` install what they need themselves.
#
#   make            release build of ./lienthong
#   make test       unit tests (ASan+UBSan) and end-to-end tests against the ASan binary
#   make demo       sandbox national portal + gateway + sample dossiers (DEMO_ONCE=1: exit after)
#   make check-config  `lienthong check` on conf/lienthong.yaml
#   make bench     lienthong beside nginx, njs and node (bench/; BENCH_QUICK=1 for a 1-minute try)

CC      ?= cc
PKGS    := libevent libevent_openssl libcurl openssl yaml-0.1 jansson libxml-2.0 sqlite3
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

.PHONY: all deps asan unit e2e test demo certs check-config clean bench
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

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC test $<"
	@$(CC) $(DEFS) $(INC) $(WARN) -Wno-missing-prototypes -Wno-write-strings $(ASAN_CFLAGS) $(PKG_CFLAGS) \
		-o $@ $< $(ASAN_LIB) $(ASAN_LDFLAGS) $(PKG_LIBS) -lcmocka -lm

# Unit tests run from the tests/unit folder so fixtures are found by relative path.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; (cd tests/unit && ../../$$t); done

e2e: build/asan/lienthong
	LIENTHONG_BIN=$(CURDIR)/build/asan/lienthong $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

test: deps
	$(MAKE) unit
	$(MAKE) e2e

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
