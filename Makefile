# SPDX-License-Identifier: GPL-2.0
# portguard: build, test, demo, bench, install. `make help` lists the targets.

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
USER_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -I$(BUILD) \
	-D_GNU_SOURCE -MMD -MP
LDLIBS := -lbpf -lelf -lz
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$(ARCH) -I. -Iinclude -Ibpf -MMD -MP

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# user/ by stage: policy/ (the language, no libbpf), kernel/ (load, attach, pin, write and
# read the maps), output/ (events, metrics, log sinks), cmd/ (one file per command), common/.
USER_SRCS := $(sort $(wildcard user/*.c user/*/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
# Everything but main() and the commands (cmd/*.c register with main.c's dispatcher): what
# the unit tests link against.
LIB_OBJS := $(filter-out $(BUILD)/user/main.o $(BUILD)/user/cmd/%.o,$(USER_OBJS))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

.DELETE_ON_ERROR:
# Skeletons, BPF objects and test objects are kept: make deletes intermediates otherwise,
# and its "rm" line would follow the suite's closing summary.
.SECONDARY: $(SKELS) $(BPF_OBJS) $(TEST_BINS:%=%.o)
.PHONY: all check test fuzz demo bench deps install uninstall clean vmlinux help \
	need-bpf-tools need-cc need-libbpf

all: $(BUILD)/portguard

help:
	@echo 'make            build build/portguard'
	@echo 'make check      build and run every test (root for the BPF and network tests)'
	@echo 'make check-kernels  the BPF tests on Debian 11/12/13 and this kernel, in QEMU (root)'
	@echo 'make demo       a two-namespace demo of the NovaVMS cloud policy (root)'
	@echo 'make bench      benchmarks, written to bench/results.md (root)'
	@echo 'make fuzz       run the fuzzers (parser, compiler, explain) FUZZ_SECONDS each'
	@echo 'make deps       install missing Debian packages with apt-get'
	@echo 'make install    install into $$(DESTDIR)$$(PREFIX)'
	@echo 'make vmlinux    regenerate vmlinux.h from this kernel'\''s BTF'
	@echo 'V=1             show the commands'

# A missing tool is named with the package that provides it.
need-bpf-tools:
	@command -v $(CLANG) >/dev/null || { echo "$(CLANG) not found: apt-get install clang (or: make deps)"; exit 1; }
	@command -v $(BPFTOOL) >/dev/null || { echo "$(BPFTOOL) not found: apt-get install bpftool (or: make deps)"; exit 1; }
need-cc:
	@command -v $(CC) >/dev/null || { echo "$(CC) not found: apt-get install gcc (or: make deps)"; exit 1; }
need-libbpf:
	@test -f /usr/include/bpf/libbpf.h || { echo "libbpf headers not found: apt-get install libbpf-dev (or: make deps)"; exit 1; }
	@test -f /usr/include/gelf.h || { echo "libelf headers not found: apt-get install libelf-dev (or: make deps)"; exit 1; }

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux.h | need-bpf-tools need-libbpf
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o | need-bpf-tools
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every user object may embed a skeleton; they are generated before any is compiled.
$(BUILD)/user/%.o: user/%.c $(SKELS) | need-cc need-libbpf
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/portguard: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%.o: tests/%.c $(SKELS) | need-cc need-libbpf
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ $(LDLIBS) -o $@

check: $(BUILD)/portguard $(TEST_BINS)
	$(Q)BUILD=$(abspath $(BUILD)) tests/run.sh

test: check

# libFuzzer targets (tests/fuzz_*.c) over the policy library alone, which needs no libbpf:
# the parser, the compiler against the evaluator, the explain query parser. `make fuzz` runs
# each for FUZZ_SECONDS on the seeds kept in the tree (tests/fuzz-corpus/NAME, and the shipped
# policies); what a run finds goes to $(BUILD)/fuzz-corpus/NAME. A finding fails the target.
FUZZERS := policy compile explain
FUZZ_SECONDS ?= 20
POLICY_LIB_SRCS := $(sort $(wildcard user/policy/*.c)) user/common/addr.c

$(BUILD)/fuzz_%: tests/fuzz_%.c $(POLICY_LIB_SRCS) $(wildcard user/policy/*.h include/*.h tests/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
		-Iinclude -Iuser -Itests $< $(POLICY_LIB_SRCS) -o $@

fuzz: $(FUZZERS:%=$(BUILD)/fuzz_%)
	$(Q)set -e; for f in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz-corpus/$$f; \
		seeds=tests/fuzz-corpus/$$f; [ $$f = explain ] || seeds="$$seeds policy"; \
		dict=; [ $$f = explain ] || dict=-dict=tests/fuzz_policy.dict; \
		echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -max_len=4096 $$dict \
			-print_final_stats=1 $(BUILD)/fuzz-corpus/$$f $$seeds 2>$(BUILD)/fuzz_$$f.log || \
			{ tail -40 $(BUILD)/fuzz_$$f.log; echo "fuzz_$$f: FAILED (a finding; log in $(BUILD)/fuzz_$$f.log)"; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' $(BUILD)/fuzz_$$f.log | tr '\n' ' '; echo; \
	done

demo: deps $(BUILD)/portguard
	$(Q)BUILD=$(abspath $(BUILD)) demo/demo.sh

bench: deps $(BUILD)/portguard
	$(Q)BUILD=$(abspath $(BUILD)) $(MAKE) -C bench

# Debian packages for building, testing, the demo and the benchmarks.
DEPS := make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 pkg-config \
	libclang-rt-14-dev util-linux procps ncat nmap socat jq postgresql postgresql-client \
	xdp-tools netsniff-ng nftables iptables gnuplot-nox prometheus rsyslog curl

deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: everything is installed"; exit 0; fi; \
	echo "deps: installing" $$missing; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (sudo make deps)"; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

install: $(BUILD)/portguard
	install -D -m 0755 $(BUILD)/portguard $(DESTDIR)$(PREFIX)/sbin/portguard
	install -d -m 0755 $(DESTDIR)/etc/portguard
	install -m 0644 policy/*.policy $(DESTDIR)/etc/portguard/
	@if [ -f doc/portguard.8 ]; then \
		install -D -m 0644 doc/portguard.8 $(DESTDIR)$(PREFIX)/share/man/man8/portguard.8; fi
	@if [ -f dist/portguard.service ]; then \
		install -d -m 0755 $(DESTDIR)/etc/systemd/system; \
		sed 's|@SBINDIR@|$(PREFIX)/sbin|g' dist/portguard.service \
			> $(DESTDIR)/etc/systemd/system/portguard.service; fi

clean:
	rm -rf $(BUILD)

include tests/kernels/kernels.mk

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*.d $(BUILD)/user/*/*.d $(BUILD)/tests/*.d)
