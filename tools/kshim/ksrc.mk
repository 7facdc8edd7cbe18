# SPDX-License-Identifier: GPL-2.0
# The kernel's own sources that the pure core calls, compiled for the
# userspace builds of the core (tests/unit, pdma-dump) from the cached,
# built kernel tree, the way tools/testing compiles them:
#
# - lib/: siphash, the CRC32C of lib/crc32.c (whose crc32table.h the
#   kernel build made) and sort, over the tree's tools/include, with
#   tools/kshim/kshim.h for the few missing helpers;
# - tools/lib/: rbtree.c, the kernel's lib/rbtree.c as tools/ carries it,
#   over tools/include alone (as tools/testing/memblock and perf build it).
#
# The core's own sources find <linux/rbtree_augmented.h> in tools/include
# too, searched after the system headers (KCORE_CFLAGS). Set KTREE to use
# another tree.
#
# In: KTREE (kernel source tree), PDMA_TOP (repository root).
# Out: KSRCS (sources), KOBJ_NAMES (their object names, k_ for lib/ and kt_
# for tools/lib/), KSRC_CFLAGS and KTOOLS_CFLAGS (flags to compile each on
# its own), KCORE_CFLAGS (flags for the core's sources and their users).
KSRCS_LIB := siphash crc32 sort
KSRCS_TOOLS := rbtree
KSRCS := $(KSRCS_LIB:%=$(KTREE)/lib/%.c) $(KSRCS_TOOLS:%=$(KTREE)/tools/lib/%.c)
KOBJ_NAMES := $(KSRCS_LIB:%=k_%.o) $(KSRCS_TOOLS:%=kt_%.o)
KSRC_CFLAGS := -I$(KTREE)/lib -I$(KTREE)/tools/include -idirafter $(KTREE)/include \
	-include $(PDMA_TOP)/tools/kshim/kshim.h -Wno-unused-parameter
KTOOLS_CFLAGS := -I$(KTREE)/tools/include
KCORE_CFLAGS := -idirafter $(KTREE)/tools/include
