/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pdma on-memory table format.
 *
 * This layout is a contract between kernels: the kernel that wrote a region
 * and the (possibly different) kernel that adopts it after kexec, and every
 * tool that reads a region image. Change it only by bumping
 * PDMA_TABLE_VERSION.
 */
#ifndef _UAPI_LINUX_PDMA_TABLE_H
#define _UAPI_LINUX_PDMA_TABLE_H

#include <linux/types.h>

/**
 * DOC: pdma region layout
 *
 * A pdma region is a physically contiguous range reserved at boot with
 * ``memmap=SIZE$START``. It starts with two copies of the allocation table,
 * A and B, followed by the data area that allocations are carved from::
 *
 *   region base
 *   +-------------------+  offset 0
 *   | table copy A      |  pdma_table_copy_size(capacity) bytes
 *   +-------------------+
 *   | table copy B      |  same size
 *   +-------------------+  data_offset (page aligned)
 *   | allocations ...   |
 *   +-------------------+  region size
 *
 * Each copy is a &struct pdma_table_header followed by ``capacity``
 * &struct pdma_table_entry slots, padded with zeroes to a multiple of
 * %PDMA_TABLE_ALIGN. All integers are little-endian and fixed width; there
 * are no bitfields and no pointers, only offsets from the region base.
 *
 * Checksum: ``crc32c`` is CRC32C (Castagnoli, reflected polynomial
 * 0x82F63B78, initial value ~0, final xor ~0) over the whole copy
 * (header and all ``capacity`` slots, not the padding) with the ``crc32c``
 * field itself taken as zero.
 *
 * Validity: a copy is valid when its magic, version, header_size,
 * entry_size, capacity, region_base, region_size and data_offset match the
 * configured region, its CRC matches, every used slot's fields are in range
 * (names NUL-terminated and non-empty, offsets aligned, extents inside the
 * data area, no two extents overlapping, no duplicate names) and
 * ``nr_entries`` equals the number of used slots.
 *
 * Commit protocol: a mutation is applied to an in-memory image, written in
 * full to the copy that is *not* current, with ``generation`` one higher than
 * the current copy. The CRC is written last. At load the valid copy with
 * the highest generation wins, so a crash at any point during a commit
 * leaves either the old state or the new state, never a mix.
 *
 * Generation: incremented by one for every committed mutation (alloc, free,
 * claim, adoption). ``adopt_count`` is incremented each time a kernel adopts
 * an existing table; adoption turns every allocated or claimed entry into
 * %PDMA_ENTRY_PRESERVED.
 */

#define PDMA_TABLE_MAGIC	0x31454C4241544450ULL	/* "PDTABLE1" little-endian */
#define PDMA_TABLE_VERSION	1
#define PDMA_TABLE_ALIGN	4096
#define PDMA_NAME_MAX		64	/* including the terminating NUL */

/* Entry states (&struct pdma_table_entry.state). */
#define PDMA_ENTRY_FREE		0	/* unused slot; all other fields zero */
#define PDMA_ENTRY_ALLOCATED	1	/* allocated by the running kernel */
#define PDMA_ENTRY_PRESERVED	2	/* survived a kexec, not yet claimed */
#define PDMA_ENTRY_CLAIMED	3	/* preserved, then claimed by LOOKUP */

/**
 * struct pdma_table_header - header of one table copy
 * @magic:       %PDMA_TABLE_MAGIC
 * @version:     %PDMA_TABLE_VERSION
 * @header_size: sizeof(struct pdma_table_header), 128
 * @entry_size:  sizeof(struct pdma_table_entry), 128
 * @capacity:    number of entry slots, fixed when the region is formatted
 * @region_base: physical base address the table was formatted for
 * @region_size: region size in bytes the table was formatted for
 * @data_offset: offset of the data area from the region base
 * @generation:  commit counter, see "Generation" above
 * @adopt_count: number of times a kernel adopted this table
 * @nr_entries:  number of slots whose state is not %PDMA_ENTRY_FREE
 * @crc32c:      checksum of this copy, see "Checksum" above
 * @reserved0:   zero
 * @reserved:    zero
 */
struct pdma_table_header {
	__le64 magic;
	__le32 version;
	__le32 header_size;
	__le32 entry_size;
	__le32 capacity;
	__le64 region_base;
	__le64 region_size;
	__le64 data_offset;
	__le64 generation;
	__le32 adopt_count;
	__le32 nr_entries;
	__le32 crc32c;
	__le32 reserved0;
	__le64 reserved[7];
};

/**
 * struct pdma_table_entry - one allocation slot
 * @name:       NUL-terminated, NUL-padded, unique among used slots
 * @offset:     start of the allocation from the region base, page aligned,
 *              a multiple of @align when added to the region base
 * @size:       length in bytes, a non-zero multiple of 4096
 * @align:      physical alignment, a power of two from 4 KiB to 1 GiB
 * @create_gen: table generation in which the allocation was made
 * @flags:      PDMA_ALLOC_* flags given at allocation
 * @state:      PDMA_ENTRY_*
 * @reserved:   zero
 */
struct pdma_table_entry {
	char   name[PDMA_NAME_MAX];
	__le64 offset;
	__le64 size;
	__le64 align;
	__le64 create_gen;
	__le32 flags;
	__le32 state;
	__le64 reserved[3];
};

/**
 * pdma_table_copy_size() - bytes of one table copy
 * @capacity: entry slots
 *
 * Return: header and @capacity slots, rounded up to %PDMA_TABLE_ALIGN.
 * Copy B starts at this offset, the data area at twice it.
 */
static inline __u64 pdma_table_copy_size(__u32 capacity)
{
	__u64 bytes = sizeof(struct pdma_table_header) +
		      (__u64)capacity * sizeof(struct pdma_table_entry);

	return (bytes + PDMA_TABLE_ALIGN - 1) & ~(__u64)(PDMA_TABLE_ALIGN - 1);
}

#endif /* _UAPI_LINUX_PDMA_TABLE_H */
