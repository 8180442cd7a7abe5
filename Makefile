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
# Distributions pass their hardening flags through CPPFLAGS, CFLAGS and LDFLAGS: all honoured.
# Warnings are errors only with WERROR=1 (CI sets it), so a newer compiler does not break a
# user's build.
WERROR ?= 0
PKG_CONFIG ?= pkg-config
WERROR_FLAGS := $(if $(filter 1,$(WERROR)),-Werror)
LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(or $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null),-lbpf)
USER_CFLAGS := $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra $(WERROR_FLAGS) -Iinclude -Iuser \
	-I$(BUILD) -D_GNU_SOURCE -MMD -MP
LDLIBS := $(LIBBPF_LIBS) -lelf -lz -lpthread
# BPF_NO_PRESERVE_ACCESS_INDEX: no CO-RE. The programs read only uapi structures (contexts and
# packet headers, whose layouts never move), and an object with CO-RE relocations makes
# libbpf load and search the running kernel's BTF at every load of it (about 40 ms each, on
# the way of `portguard load`).
BPF_CFLAGS := -target bpf -O2 -g -Wall $(WERROR_FLAGS) -D__TARGET_ARCH_$(ARCH) -I. -Iinclude -Ibpf \
	-DBPF_NO_PRESERVE_ACCESS_INDEX -MMD -MP

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# user/ by stage: policy/ (the language, no libbpf), kernel/ (load, attach, pin, write and
# read the maps), output/ (events, metrics, log sinks), cmd/ (one file per command), common/.
USER_SRCS := $(sort $(wildcard user/*.c user/*/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
# Everything but main() and the commands (main.c's table lists cmd/*.c): what the unit
# tests link against.
LIB_OBJS := $(filter-out $(BUILD)/user/main.o $(BUILD)/user/cmd/%.o,$(USER_OBJS))
# The policy language as a library: no libbpf. test_policy links it alone, without -lbpf,
# so that the build itself keeps the rule.
POLICY_OBJS := $(filter $(BUILD)/user/policy/%.o,$(USER_OBJS)) $(BUILD)/user/common/addr.o
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

.DELETE_ON_ERROR:
# Skeletons, BPF objects and test objects are kept: make deletes intermediates otherwise,
# and its "rm" line would follow the suite's closing summary.
.SECONDARY: $(SKELS) $(BPF_OBJS) $(TEST_BINS:%=%.o)
.PHONY: all check test fuzz demo bench deps install uninstall deb clean vmlinux help \
	need-bpf-tools need-cc need-libbpf need-deps need-deb-tools dist-files

all: $(BUILD)/portguard

help:
	@echo 'make            build build/portguard'
	@echo 'make check      build and run every test (root for the BPF and network tests)'
	@echo 'make check-kernels  the BPF tests on Debian 11/12/13 and this kernel, in QEMU (root)'
	@echo 'make demo       a two-namespace demo of the NovaVMS cloud policy (root)'
	@echo 'make bench      benchmarks, written to bench/results.md (root)'
	@echo 'make fuzz       run the fuzzers (parser, compiler, explain) FUZZ_SECONDS each'
	@echo 'make deps       install missing Debian packages with apt-get'
	@echo 'make install    install into $$(DESTDIR)$$(PREFIX); an edited file is kept, the new one is .dist'
	@echo 'make uninstall  remove what make install installed (an edited configuration stays)'
	@echo 'make deb        the Debian package, in $(BUILD)/deb/'
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

# The skeletons are generated before any object is compiled (order-only); which object
# includes which skeleton, and so is rebuilt when it changes, the -MMD files say.
$(BUILD)/user/%.o: user/%.c | $(SKELS) need-cc need-libbpf
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(LIBBPF_CFLAGS) -c $< -o $@

# The policy library is compiled without libbpf's flags.
$(BUILD)/user/policy/%.o: user/policy/%.c | need-cc
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/portguard: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%.o: tests/%.c | $(SKELS) need-cc need-libbpf
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(LIBBPF_CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# No -lbpf: a libbpf call in the policy library fails this link.
$(BUILD)/tests/test_policy: $(BUILD)/tests/test_policy.o $(POLICY_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@

check: $(BUILD)/portguard $(TEST_BINS)
	$(Q)[ "$$(id -u)" != 0 ] || tests/nspawn_root.sh >/dev/null || true
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

# demo and bench install nothing themselves: a missing package is named, with the command
# that installs it (make deps).
need-deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| echo $$p; done); \
	if [ -n "$$missing" ]; then echo "missing packages:" $$missing; \
		echo "run: sudo make deps"; exit 1; fi

demo: need-deps $(BUILD)/portguard
	$(Q)BUILD=$(abspath $(BUILD)) demo/demo.sh

bench: need-deps $(BUILD)/portguard
	$(Q)BUILD=$(abspath $(BUILD)) $(MAKE) -C bench

# Debian packages for building, testing, the demo and the benchmarks.
DEPS := make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 pkg-config \
	libclang-rt-14-dev util-linux procps ncat nmap socat jq postgresql postgresql-client \
	xdp-tools netsniff-ng nftables iptables gnuplot-nox prometheus rsyslog curl \
	dpkg-dev debhelper devscripts lintian man-db systemd-container debootstrap e2fsprogs

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

# --- install, uninstall, deb ---
# Where `make install` puts things. The unit goes where systemd looks for units of this
# PREFIX ($(PREFIX)/lib/systemd/system); the Debian package passes UNITDIR=/lib/systemd/system.
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/portguard
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DIST_SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@DOCDIR@|$(DOCDIR)|g'
CONF := $(DESTDIR)$(SYSCONFDIR)/portguard/portguard.conf

# The unit and the configuration file are written for these directories on every install:
# they are not targets of their own, since a PREFIX change changes them.
dist-files:
	@mkdir -p $(BUILD)/dist
	$(Q)$(DIST_SUBST) dist/portguard.service >$(BUILD)/dist/portguard.service
	$(Q)$(DIST_SUBST) dist/portguard.conf >$(BUILD)/dist/portguard.conf

# The policies are examples: nothing is enforced until the operator names one in
# portguard.conf. An existing portguard.conf is the operator's: it is never overwritten; when
# ours differs it is installed beside it as portguard.conf.dist.
install: $(BUILD)/portguard dist-files
	install -D -m 0755 $(BUILD)/portguard $(DESTDIR)$(SBINDIR)/portguard
	install -D -m 0644 doc/portguard.8 $(DESTDIR)$(MANDIR)/man8/portguard.8
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 policy/*.policy $(DESTDIR)$(DOCDIR)/examples/
	install -D -m 0644 $(BUILD)/dist/portguard.service $(DESTDIR)$(UNITDIR)/portguard.service
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/portguard
	@if [ ! -e $(CONF) ]; then \
		echo "install -m 0644 $(BUILD)/dist/portguard.conf $(CONF)"; \
		install -m 0644 $(BUILD)/dist/portguard.conf $(CONF); \
	elif cmp -s $(BUILD)/dist/portguard.conf $(CONF); then \
		echo "install: $(CONF) is up to date"; \
	else \
		install -m 0644 $(BUILD)/dist/portguard.conf $(CONF).dist; \
		echo "install: kept $(CONF), which differs from this version's;" \
			"the new one is $(CONF).dist: merge what you need"; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "install: run 'systemctl daemon-reload'; then name a policy" \
		"in $(CONF) and 'systemctl enable --now portguard'"

# Removes the files install wrote. An edited portguard.conf (and the operator's policies
# beside it) stay; so does anything still pinned (portguard unload removes that).
uninstall: dist-files
	rm -f $(DESTDIR)$(SBINDIR)/portguard $(DESTDIR)$(MANDIR)/man8/portguard.8 \
		$(DESTDIR)$(UNITDIR)/portguard.service $(CONF).dist
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(wildcard policy/*.policy)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if cmp -s $(BUILD)/dist/portguard.conf $(CONF); then \
		echo "rm -f $(CONF)"; rm -f $(CONF); \
	elif [ -e $(CONF) ]; then echo "uninstall: kept $(CONF): it was edited"; fi
	-@rmdir $(DESTDIR)$(SYSCONFDIR)/portguard 2>/dev/null
	@[ -n "$(DESTDIR)" ] || echo "uninstall: run 'systemctl daemon-reload'"

# The Debian package, built by dpkg-buildpackage from a copy of the tree in $(BUILD)/deb/src,
# so that its clean step cannot touch this tree's build; the .deb lands in $(BUILD)/deb/.
# None of our variables reaches the package's build (BUILD=... would be its `make clean`'s).
DEB_VERSION = $(shell head -n1 debian/changelog | cut -d' ' -f2 | tr -d '()')
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB := $(BUILD)/deb/portguard_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_INPUTS := Makefile vmlinux.h $(wildcard debian/* debian/source/* dist/* doc/portguard.8 \
	policy/*.policy README.md) $(BPF_SRCS) $(USER_SRCS) \
	$(shell find include bpf user -name '*.h' 2>/dev/null)

need-deb-tools:
	@command -v dpkg-buildpackage >/dev/null || { echo "dpkg-buildpackage not found: apt-get install dpkg-dev (or: make deps)"; exit 1; }
	@command -v dh >/dev/null || { echo "dh not found: apt-get install debhelper (or: make deps)"; exit 1; }

deb: $(DEB)

$(DEB): $(DEB_INPUTS) | need-deb-tools
	$(call msg,DEB,$@)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
			tar -c --null -T - -f - | tar -x -C $(BUILD)/deb/src; \
	else \
		tar -c --exclude=./build --exclude=./.git -f - . | tar -x -C $(BUILD)/deb/src; \
	fi
	$(Q)cd $(BUILD)/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u PREFIX \
		-u DESTDIR -u SBINDIR -u MANDIR -u DOCDIR -u UNITDIR -u SYSCONFDIR \
		dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "deb: dpkg-buildpackage failed: $(BUILD)/deb/build.log"; exit 1; }
	$(Q)test -f $@ || { echo "deb: dpkg-buildpackage made no $@"; ls $(BUILD)/deb; exit 1; }

clean:
	rm -rf $(BUILD)

include tests/kernels/kernels.mk

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*.d $(BUILD)/user/*/*.d $(BUILD)/tests/*.d)
