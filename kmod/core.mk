# SPDX-License-Identifier: GPL-2.0
# The pure core: state and queries, mutations, table codec, commit protocol,
# allocator and CRC32C, behind pdma_shim.h. The module (Kbuild), tests/unit
# and pdma-dump (Makefile) all take the list from here, so they always
# compile the same sources.
PDMA_CORE := pdma_core pdma_mutate pdma_table pdma_commit pdma_alloc pdma_crc32c
