# SPDX-License-Identifier: GPL-2.0
#
# pdma: persistent DMA memory and kept-alive devices across kexec.
# `make demo` and `make check` are the two entry points; see README.md.

BUILD      := $(CURDIR)/build
PDMA_CACHE ?= $(HOME)/.cache/pdma
KCONFIG    ?= default
export PDMA_CACHE KCONFIG

PYTHON     := /usr/bin/python3
PYTEST     := $(PYTHON) -m pytest
PYTEST_ARGS ?=
CC         ?= gcc
CFLAGS_TOOLS := -O2 -g -Wall -Wextra -std=gnu11 -I$(CURDIR)/uapi -I$(CURDIR)/kmod

# Evaluated only inside recipes, after `deps` and `kernel` have run.
kernel_dir = $(shell tools/vm/kernel.sh dir)/linux-source-6.12
KMAKE = $(MAKE) -C $(kernel_dir) ARCH=x86_64

GUEST_TOOLS := $(BUILD)/guest/physmem
MODULES     :=

.PHONY: all deps kernel modules tools initramfs check check-unit check-guest \
	demo bench fuzz clean install help

all: initramfs

help:
	@echo "make demo     boot a guest and show buffers surviving kexec"
	@echo "make check    every test: unit, fuzz (short), guest kexec tests"
	@echo "make bench    benchmark tables (ratios measured in one run)"
	@echo "make kernel   build or reuse the cached test kernel (KCONFIG=debug for the debug one)"
	@echo "make clean    remove build outputs (the kernel cache stays in $(PDMA_CACHE))"

deps:
	@tools/vm/deps.sh

kernel: deps
	@tools/vm/kernel.sh build >/dev/null

modules: kernel
ifneq ($(MODULES),)
	+$(KMAKE) M=$(CURDIR)/kmod modules
endif

tools: deps $(GUEST_TOOLS)

$(BUILD)/guest/%: tools/vm/guest/%.c
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -o $@ $<

initramfs: kernel modules tools
	tools/vm/mkinitramfs.sh $(BUILD)/initramfs.cpio $(kernel_dir)/arch/x86/boot/bzImage \
		$(GUEST_TOOLS) $(MODULES)

check: initramfs
	$(PYTEST) -ra tests $(PYTEST_ARGS)

demo: initramfs
	$(PYTHON) tools/vm/demo.py --build $(BUILD) --kernel $(kernel_dir)/arch/x86/boot/bzImage

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C kmod clean-local
