# SPDX-License-Identifier: GPL-2.0
# `make check-kernels`: the kernel matrix (tests/kernels/check.sh). Included by the Makefile.
# KERNELS picks kernels (default: all of 5.10 6.1 6.12 running); the cache of kernels, the
# debootstrap root and the boot images is PG_KERNELS_CACHE (default /var/cache/portguard-kernels,
# kept by `make clean`; `make clean-kernels` removes it).
KERNELS ?=
PG_KERNELS_CACHE ?= /var/cache/portguard-kernels

# QEMU, the root filesystem and the boot images.
DEPS += qemu-system-x86 debootstrap e2fsprogs cpio xz-utils zstd

.PHONY: check-kernels clean-kernels

check-kernels: $(BUILD)/portguard $(TEST_BINS) $(BPF_OBJS)
	$(Q)BUILD=$(abspath $(BUILD)) PG_KERNELS_CACHE=$(PG_KERNELS_CACHE) \
		tests/kernels/check.sh $(KERNELS)

clean-kernels:
	rm -rf $(PG_KERNELS_CACHE) $(BUILD)/kernels
