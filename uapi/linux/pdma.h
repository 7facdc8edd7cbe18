/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pdma: persistent DMA buffers that survive kexec.
 *
 * /dev/pdma hands out physically contiguous buffers carved from a range
 * reserved with memmap=SIZE$START. Allocations are named; after a kexec the
 * next kernel adopts the table and LOOKUP returns the same physical pages
 * under the same name.
 *
 * Every ioctl takes its own struct, encoded with _IOWR. All reserved fields
 * and padding must be zero on input, otherwise the ioctl fails with -EINVAL;
 * the kernel zeroes them on output. Names are printable ASCII (0x20 to
 * 0x7e), NUL-terminated within PDMA_NAME_MAX bytes, non-empty, and the bytes
 * after the NUL must be zero.
 *
 * Access: ALLOC, FREE and LOOKUP (which claims) need an fd opened for
 * writing, else -EBADF. Physical addresses (@phys, pdma_info.base) are
 * reported only to an fd opened with CAP_SYS_RAWIO; others read 0.
 *
 * mmap: the mmap offset is the allocation's @offset as returned by ALLOC or
 * LOOKUP; the mapping must be shared (MAP_SHARED, or read-only on an
 * O_RDONLY fd) and fit inside the allocation, and the fd must have been
 * opened with CAP_SYS_RAWIO (else -EPERM).
 * read(): returns the raw bytes of both table copies, from offset 0 of the
 * region up to pdma_info.data_offset (then end of file), for tools such as
 * pdma-dump; never the data area.
 */
#ifndef _UAPI_LINUX_PDMA_H
#define _UAPI_LINUX_PDMA_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/pdma_table.h>

#define PDMA_IOC_MAGIC		0xB9

/* pdma_info.state_flags */
#define PDMA_STATE_FRESH	(1U << 0)	/* formatted by this kernel */
#define PDMA_STATE_ADOPTED	(1U << 1)	/* adopted a table from a previous kernel */
#define PDMA_STATE_READONLY	(1U << 2)	/* table corrupt or mismatched: no mutations */

/* pdma_alloc.flags */
#define PDMA_ALLOC_ZERO		(1U << 0)	/* zero the buffer before it is recorded */
#define PDMA_ALLOC_FLAGS_ALL	(PDMA_ALLOC_ZERO)

#define PDMA_ALIGN_MIN		4096ULL
#define PDMA_ALIGN_MAX		(1ULL << 30)

/**
 * struct pdma_info - PDMA_IOC_INFO
 * @base:         physical base of the region
 * @size:         region size in bytes
 * @data_offset:  offset of the data area (after both table copies)
 * @free_bytes:   bytes not covered by any allocation in the data area
 * @largest_free: largest free extent in bytes
 * @generation:   generation of the current table copy
 * @adopt_count:  times this table was adopted across kexec
 * @nr_entries:   used entries
 * @capacity:     entry slots
 * @state_flags:  PDMA_STATE_*
 * @reserved:     must be zero
 */
struct pdma_info {
	__u64 base;
	__u64 size;
	__u64 data_offset;
	__u64 free_bytes;
	__u64 largest_free;
	__u64 generation;
	__u32 adopt_count;
	__u32 nr_entries;
	__u32 capacity;
	__u32 state_flags;
	__u64 reserved[4];
};

/**
 * struct pdma_alloc - PDMA_IOC_ALLOC
 * @name:   in: unique name
 * @size:   in: bytes, rounded up to 4096; out: the rounded size
 * @align:  in: 0 for 4096, else a power of two from 4 KiB to 1 GiB
 * @flags:  in: PDMA_ALLOC_*
 * @id:     out: table slot
 * @offset: out: offset from the region base; also the mmap offset
 * @phys:   out: physical address
 * @reserved: must be zero
 */
struct pdma_alloc {
	char  name[PDMA_NAME_MAX];
	__u64 size;
	__u64 align;
	__u32 flags;
	__u32 id;
	__u64 offset;
	__u64 phys;
	__u64 reserved[4];
};

/**
 * struct pdma_entry_info - one allocation, as returned by LOOKUP and LIST
 * @name:       name
 * @size:       bytes
 * @align:      physical alignment
 * @offset:     offset from the region base; also the mmap offset
 * @phys:       physical address
 * @create_gen: generation in which it was allocated
 * @flags:      PDMA_ALLOC_* given at allocation
 * @state:      PDMA_ENTRY_*
 * @id:         table slot
 * @map_count:  live mappings in this kernel
 * @reserved:   zero
 */
struct pdma_entry_info {
	char  name[PDMA_NAME_MAX];
	__u64 size;
	__u64 align;
	__u64 offset;
	__u64 phys;
	__u64 create_gen;
	__u32 flags;
	__u32 state;
	__u32 id;
	__u32 map_count;
	__u64 reserved[2];
};

/**
 * struct pdma_lookup - PDMA_IOC_LOOKUP: claim an entry by name
 * @entry:    in: @entry.name, every other field zero; out: the entry, and a
 *            preserved entry becomes claimed
 * @reserved: must be zero
 *
 * Looking up an allocated or already claimed entry succeeds and changes
 * nothing, so a driver can use LOOKUP whether or not a kexec happened.
 */
struct pdma_lookup {
	struct pdma_entry_info entry;
	__u64 reserved[2];
};

/**
 * struct pdma_free - PDMA_IOC_FREE
 * @name:     in: name
 * @reserved: must be zero
 */
struct pdma_free {
	char  name[PDMA_NAME_MAX];
	__u64 reserved[2];
};

/**
 * struct pdma_list - PDMA_IOC_LIST: walk the used entries in slot order
 * @cursor:   in: 0 to start, then the value returned; out: next cursor
 * @pad:      must be zero
 * @entry:    out: the next used entry at or after @cursor
 * @reserved: must be zero
 *
 * Returns -ENOENT when no used entry remains.
 */
struct pdma_list {
	__u32 cursor;
	__u32 pad;
	struct pdma_entry_info entry;
	__u64 reserved[2];
};

#define PDMA_IOC_INFO	_IOWR(PDMA_IOC_MAGIC, 0x00, struct pdma_info)
#define PDMA_IOC_ALLOC	_IOWR(PDMA_IOC_MAGIC, 0x01, struct pdma_alloc)
#define PDMA_IOC_LOOKUP	_IOWR(PDMA_IOC_MAGIC, 0x02, struct pdma_lookup)
#define PDMA_IOC_FREE	_IOWR(PDMA_IOC_MAGIC, 0x03, struct pdma_free)
#define PDMA_IOC_LIST	_IOWR(PDMA_IOC_MAGIC, 0x04, struct pdma_list)

#endif /* _UAPI_LINUX_PDMA_H */
