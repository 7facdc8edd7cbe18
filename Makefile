# SPDX-License-Identifier: GPL-2.0
#
# pdma: persistent DMA memory and kept-alive devices across kexec.
# `make demo` and `make check` are the two entry points; see README.md.

BUILD      := $(CURDIR)/build
PDMA_CACHE ?= $(HOME)/.cache/pdma
KCONFIG    ?= default
# The test kernel's version: 6.12 (Debian 12's, the default) or 7.2 (sid's
# linux-source-7.2, fetched by `make deps KVER=7.2`); see README "Linux 7.2".
KVER       ?= 6.12
export PDMA_CACHE KCONFIG KVER

PYTHON     := /usr/bin/python3
PYTEST     := $(PYTHON) -m pytest
PYTEST_ARGS ?=
CC         ?= gcc
CFLAGS_TOOLS := -O2 -g -Wall -Wextra -std=gnu11 -I$(CURDIR)/uapi -I$(CURDIR)/kmod

# Evaluated only inside recipes, after `deps` and `kernel` have run.
kernel_dir = $(shell tools/vm/kernel.sh tree)
KMAKE = $(MAKE) -C $(kernel_dir) ARCH=x86_64

BIN     := $(BUILD)/bin
# One initramfs per kernel variant: it carries that kernel and its pdma.ko.
INITRAMFS := $(BUILD)/initramfs$(if $(filter-out 6.12,$(KVER)),-$(KVER))$(if $(filter-out default,$(KCONFIG)),-$(KCONFIG)).cpio
LIBPDMA := $(BUILD)/lib/libpdma.a
HEADERS := $(wildcard uapi/linux/*.h tools/libpdma/*.h kmod/pdma_core.h kmod/pdma_shim.h)

# Admin tools, installed by `make install`.
TOOLS := $(BIN)/pdmactl $(BIN)/pdma-dump
# The pure core, compiled unchanged into the module, tests/unit and pdma-dump.
include kmod/core.mk
CORE_SRCS := $(addprefix kmod/,$(addsuffix .c,$(PDMA_CORE)))
# ... and the kernel's own sources it calls (siphash, crc32, sort, rbtree),
# from the built 6.12 tree whatever KVER is: userspace builds are the same
# for every kernel.
KTREE ?= $(shell KVER=6.12 tools/vm/kernel.sh tree)
PDMA_TOP := $(CURDIR)
include tools/kshim/ksrc.mk
KOBJS := $(addprefix $(BUILD)/obj/,$(KOBJ_NAMES))
# Guest-side test helpers; everything is linked statically so one binary
# runs on the host and inside the busybox guest.
GUEST_TOOLS := $(BIN)/physmem $(BIN)/pdma_buf $(BIN)/pdma_abi_test $(BIN)/pdma_map_bench \
	$(BIN)/pdma_stress \
	$(BIN)/vfio_nvme_probe $(BIN)/sysfs_write $(BIN)/run_as $(BIN)/pdma-nvme \
	$(BIN)/nvme_test_aid
MODULES := $(CURDIR)/kmod/pdma.ko
# Test modules for the guest suites (tests/guest/kmod), in the initramfs only.
TEST_MODULES := $(CURDIR)/tests/guest/kmod/pdma_squat.ko
# On 7.x: pdma against the upstream Live Update Orchestrator (bench/luo_bench.py).
ifneq ($(KVER),6.12)
GUEST_TOOLS += $(BIN)/preserve_bench
endif

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# libpdma version (pkg-config) and shared library ABI version (soname).
VERSION   := 0.1.0
SOVERSION := 0
LIBPDMA_SO := $(BUILD)/lib/libpdma.so.$(VERSION)

.PHONY: all deps kernel modules tools initramfs check check-debug check-unit check-guest \
	demo bench fuzz clean install help dkms dkms-remove stock check-stock

all: initramfs

help:
	@echo "make demo     boot a guest and service an NVMe controller across kexec"
	@echo "make check    every test: unit, fuzz (short), guest kexec tests"
	@echo "make check-debug  the guest suites on the KASAN + lockdep SMP kernel"
	@echo "make bench    benchmark tables (ratios measured in one run)"
	@echo "make fuzz     a longer libFuzzer run of the table loader (FUZZ_TIME=300)"
	@echo "make kernel   build or reuse the cached test kernel (KCONFIG=debug for the debug one)"
	@echo "              KVER=7.2 with any target: the same on Linux 7.2 (sid's linux-source-7.2)"
	@echo "make dkms     register the module with DKMS (/usr/src/pdma-$(VERSION), dkms add)"
	@echo "make check-stock  Debian's stock 6.12 kernel: DKMS build, kexec -s cycles, loader safety"
	@echo "make clean    remove build outputs (the kernel cache stays in $(PDMA_CACHE))"

deps:
	@tools/vm/deps.sh
	@if [ "$(KVER)" != 6.12 ]; then tools/vm/debsource.sh fetch $(KVER) >/dev/null; fi

# KVER=7.2 also builds 6.12, whose lib/ sources the userspace tools compile.
kernel: deps
	@tools/vm/kernel.sh build >/dev/null
	@if [ "$(KVER)" != 6.12 ]; then KVER=6.12 KCONFIG=default tools/vm/kernel.sh build >/dev/null; fi

# kbuild's command lines for an external module name the kernel tree by
# relative paths, so switching KCONFIG would not rebuild pdma.ko and a module
# built for one kernel would be loaded into the other. Clean on a switch.
modules: kernel
	@if [ "$$(cat kmod/.kernel-dir 2>/dev/null)" != "$(kernel_dir)" ]; then \
		$(KMAKE) M=$(CURDIR)/kmod clean >/dev/null; \
		$(KMAKE) M=$(CURDIR)/tests/guest/kmod clean >/dev/null; \
		echo "$(kernel_dir)" >kmod/.kernel-dir; fi
	+$(KMAKE) M=$(CURDIR)/kmod modules
	+$(KMAKE) M=$(CURDIR)/tests/guest/kmod modules

tools: $(TOOLS) $(GUEST_TOOLS)

$(BUILD)/obj/libpdma.o: tools/libpdma/libpdma.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_TOOLS) -fPIC -c -o $@ $<

$(LIBPDMA): $(BUILD)/obj/libpdma.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIBPDMA_SO): $(BUILD)/obj/libpdma.o
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libpdma.so.$(SOVERSION) -o $@ $^

# pdma-dump interprets region bytes only through the core, in inspection mode.
# It reads the source in pdma-dump.c and reports in pdma_dump_report.c.
DUMP_SRCS := tools/pdma-dump.c tools/pdma_dump_report.c
$(BUILD)/obj/k_%.o: $(KTREE)/lib/%.c tools/kshim/kshim.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall $(KSRC_CFLAGS) -c -o $@ $<

$(BUILD)/obj/kt_%.o: $(KTREE)/tools/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall $(KTOOLS_CFLAGS) -c -o $@ $<

$(BIN)/pdma-dump: $(DUMP_SRCS) tools/pdma_dump_report.h $(CORE_SRCS) $(KOBJS) $(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) $(KCORE_CFLAGS) -Itools -o $@ $(DUMP_SRCS) $(CORE_SRCS) $(KOBJS) \
		$(LIBPDMA)

# pdmactl, with its preflight check in files of its own.
PREFLIGHT_SRCS := tools/pdma_preflight.c tools/pdma_preflight_kexec.c
$(BIN)/pdmactl: tools/pdmactl.c $(PREFLIGHT_SRCS) tools/pdma_preflight.h tools/pdma_preflight_int.h \
		$(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ tools/pdmactl.c $(PREFLIGHT_SRCS) $(LIBPDMA)

$(BIN)/%: tools/%.c $(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ $< $(LIBPDMA)

# vfio_nvme_probe is four files around one header; the NVMe and keep-alive
# definitions are shared with pdma-nvme (tools/nvme/).
VFIO_NVME_SRCS := $(addprefix tests/guest/,vfio_nvme_probe.c vfio_nvme_dev.c vfio_nvme_queue.c \
	vfio_nvme_ka.c)
$(BIN)/vfio_nvme_probe: $(VFIO_NVME_SRCS) tests/guest/vfio_nvme.h tests/guest/caps.h \
		tools/nvme/nvme_regs.h tools/nvme/vfio_keep_alive.h $(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ $(VFIO_NVME_SRCS) $(LIBPDMA)

# pdma-nvme: the NVMe servicing driver (tools/nvme/): a driver core that
# knows nothing of the command line, and the CLI on top of it.
NVME_CORE_SRCS := $(addprefix tools/nvme/,nvme_hw.c nvme_io.c nvme_state.c nvme_restore.c \
	nvme_ledger.c)
PDMA_NVME_SRCS := $(addprefix tools/nvme/,pdma-nvme.c nvme_cmd_io.c nvme_cmd_svc.c nvme_cli.c) \
	$(NVME_CORE_SRCS)
$(BIN)/pdma-nvme: $(PDMA_NVME_SRCS) $(wildcard tools/nvme/*.h) \
		$(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ $(PDMA_NVME_SRCS) $(LIBPDMA)

# A test aid on the driver core alone.
$(BIN)/nvme_test_aid: tests/guest/nvme_test_aid.c $(NVME_CORE_SRCS) $(wildcard tools/nvme/*.h) \
		$(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ $< $(NVME_CORE_SRCS) $(LIBPDMA)

# <linux/liveupdate.h> is the 7.x tree's own uapi header.
$(BIN)/preserve_bench: tests/guest/preserve_bench.c $(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -idirafter $(kernel_dir)/include/uapi -o $@ $< $(LIBPDMA)

$(BIN)/%: tests/guest/%.c tests/guest/caps.h $(LIBPDMA) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -Itools -o $@ $< $(LIBPDMA)

$(BIN)/%: tools/vm/guest/%.c
	@mkdir -p $(dir $@)
	$(CC) -static $(CFLAGS_TOOLS) -o $@ $<

initramfs: kernel modules
	+$(MAKE) tools
	tools/vm/mkinitramfs.sh $(INITRAMFS) $(kernel_dir)/arch/x86/boot/bzImage \
		$(TOOLS) $(GUEST_TOOLS) $(MODULES) $(TEST_MODULES)

# On 7.x, tests/mainline adds the upstream vfio and liveupdate selftests; the
# two suites about Debian's 6.12 (its stock kernel, and a module of an old
# commit built against the test kernel) do not apply.
KVER_ONLY_612 := tests/test_stock_kernel.py tests/test_pdma_upgrade.py
check: initramfs
	@# 7.x: the same kernel without the series, the stock twin of tests/mainline
	@if [ "$(KVER)" != 6.12 ]; then KSERIES=none tools/vm/kernel.sh build >/dev/null; fi
	$(PYTEST) -ra tests $(if $(filter-out 6.12,$(KVER)),$(addprefix --ignore=,$(KVER_ONLY_612))) \
		$(PYTEST_ARGS)

# The guest suites on the debug kernel (KASAN, lockdep, SMP). Every guest run
# fails on a kernel splat in its console (tools/vm/pdmavm.py SPLAT).
HOST_ONLY_TESTS := tests/test_static.py tests/test_pdma_dump_images.py
check-debug:
	KCONFIG=debug $(MAKE) initramfs
	KCONFIG=debug $(PYTEST) -ra tests $(addprefix --ignore=,$(HOST_ONLY_TESTS)) $(PYTEST_ARGS)

bench: initramfs
	+$(MAKE) -C tests/unit bench
	$(PYTHON) bench/map_bench.py --kernel $(kernel_dir)/arch/x86/boot/bzImage \
		--initramfs $(INITRAMFS)
	$(PYTHON) bench/nvme_bench.py --kernel $(kernel_dir)/arch/x86/boot/bzImage \
		--initramfs $(INITRAMFS) --label "every test tool"
	# P7 after: an initramfs with only what servicing needs
	tools/vm/mkinitramfs.sh $(BUILD)/initramfs-servicing.cpio \
		$(kernel_dir)/arch/x86/boot/bzImage $(BIN)/pdma-nvme $(BIN)/pdmactl $(MODULES)
	$(PYTHON) bench/nvme_bench.py --kernel $(kernel_dir)/arch/x86/boot/bzImage \
		--initramfs $(BUILD)/initramfs-servicing.cpio --label "pdma-nvme, pdmactl and pdma.ko only"
	$(PYTHON) bench/nvme_multi_bench.py --kernel $(kernel_dir)/arch/x86/boot/bzImage \
		--initramfs $(INITRAMFS)
	@# 7.x: pdma against the upstream Live Update Orchestrator's memfd preservation
	$(if $(filter-out 6.12,$(KVER)),$(PYTHON) bench/luo_bench.py \
		--kernel $(kernel_dir)/arch/x86/boot/bzImage --initramfs $(INITRAMFS))

# The module alone on Debian's own 6.12 kernel (bookworm-backports): kernel
# and headers fetched into $(PDMA_CACHE) (never installed on the host),
# pdma.ko built by DKMS, initramfs in $(BUILD)/stock.
stock: tools
	tools/vm/stock.sh $(BUILD)/stock $(TOOLS) $(GUEST_TOOLS)

check-stock: stock
	$(PYTEST) -ra tests/test_stock_kernel.py $(PYTEST_ARGS)

# DKMS: register the module's sources (dkms.conf); DKMS builds it for each
# kernel with headers. `make dkms-remove` undoes it.
dkms:
	tools/dkms.sh register

dkms-remove:
	tools/dkms.sh unregister

fuzz:
	+$(MAKE) -C tests/unit fuzz

demo: initramfs
	$(PYTHON) tools/vm/demo.py --build $(BUILD) --kernel $(kernel_dir)/arch/x86/boot/bzImage

# make install [PREFIX=/usr/local] [DESTDIR=]: the admin tools, libpdma
# (static and shared), its header, the uapi headers and libpdma.pc.
install: $(TOOLS) $(LIBPDMA) $(LIBPDMA_SO)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(LIBPDMA) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(LIBPDMA_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libpdma.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpdma.so.$(SOVERSION)
	ln -sf libpdma.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libpdma.so
	install -m 0644 tools/libpdma/libpdma.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 uapi/linux/pdma.h uapi/linux/pdma_table.h $(DESTDIR)$(INCLUDEDIR)/linux/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		tools/libpdma/libpdma.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/libpdma.pc

clean:
	rm -rf $(BUILD)
	+$(MAKE) -C tests/unit clean
	rm -f kmod/*.o kmod/.*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order \
		kmod/Module.symvers kmod/.kernel-dir
	rm -f tests/guest/kmod/*.o tests/guest/kmod/*.ko tests/guest/kmod/*.mod tests/guest/kmod/*.mod.c \
		tests/guest/kmod/.*.cmd tests/guest/kmod/modules.order tests/guest/kmod/Module.symvers
	rm -rf .pytest_cache tests/__pycache__ tools/vm/__pycache__
