# SPDX-License-Identifier: GPL-2.0
# The kernel's own lib/ sources that the pure core calls (siphash, and the
# CRC32C shift of lib/crc32.c, whose crc32table.h the kernel build made),
# compiled for the userspace builds of the core (tests/unit, pdma-dump)
# from the cached, built kernel tree, the way tools/testing compiles lib/
# sources: over the tree's tools/include, with tools/kshim/kshim.h for the
# few missing helpers. Set KTREE to use another tree.
#
# In: KTREE (kernel source tree), PDMA_TOP (repository root).
# Out: KSRCS (sources), KSRC_CFLAGS (flags to compile each on its own).
KSRCS := $(KTREE)/lib/siphash.c $(KTREE)/lib/crc32.c
KSRC_CFLAGS := -I$(KTREE)/lib -I$(KTREE)/tools/include -idirafter $(KTREE)/include \
	-include $(PDMA_TOP)/tools/kshim/kshim.h -Wno-unused-parameter
