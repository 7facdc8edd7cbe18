/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pdma core: table codec, commit protocol and allocator of a pdma region.
 *
 * Pure C with no kernel-only dependencies, compiled unchanged into the
 * kernel module, the userspace tests and fuzzers, and pdma-dump. The core
 * never touches region memory directly for writing: every store goes
 * through &struct pdma_core_ops, and it reads only the table area given in
 * &struct pdma_core_config. It does no locking; the caller serialises all
 * calls on one core.
 */
#ifndef _PDMA_CORE_H
#define _PDMA_CORE_H

#include "pdma_shim.h"
#include <linux/pdma.h>
#include <linux/pdma_table.h>

#define PDMA_PAGE_SIZE		4096ULL
/*
 * Sort keys are (page number << 24 | slot or node index): indices must fit
 * 24 bits and page numbers the 40 bits above, hence the limits.
 */
#define PDMA_SORT_IDX_BITS	24
#define PDMA_SORT_IDX_MASK	0xffffffULL
#define PDMA_CORE_MAX_CAPACITY	0x100000U		/* slots */
#define PDMA_CORE_MAX_REGION	0x10000000000000ULL	/* 4 PiB, exclusive */
/*
 * A copy's generation is below this, and a commit that would reach it is
 * refused (-EOVERFLOW): a u64 that never wraps keeps "higher generation
 * wins" true. 2^63 commits are out of reach of any real workload.
 */
#define PDMA_GEN_LIMIT		0x8000000000000000ULL	/* 2^63 */
/* Long loops over slots call cond_resched() every this many + 1 slots. */
#define PDMA_RESCHED_MASK	0x3ffU
/* Slots a commit may change before it is written; more is "all". */
#define PDMA_DIRTY_MAX		4
#define PDMA_DIRTY_ALL		U32_MAX
/* Rows of shift tables: capacities up to 2^21 slots. */
#define PDMA_SHIFT_ROWS		21

/**
 * struct pdma_extent - one free extent, a node of the free-extent tree
 * @start:       offset from the region base
 * @len:         length in bytes
 * @subtree_max: largest @len in the subtree rooted here, while in use
 * @rb:          link in &struct pdma_extents.root, keyed by @start
 * @next_free:   link in the list of unused nodes, while unused
 */
struct pdma_extent {
	u64 start;
	u64 len;
	u64 subtree_max;
	union {
		struct rb_node rb;
		struct pdma_extent *next_free;
	};
};

/**
 * struct pdma_extents - free-extent allocator over a range of offsets
 * @root:       augmented rbtree of the free extents, by start
 * @pool:       preallocated nodes
 * @free_nodes: unused nodes of @pool
 * @nr_pool:    number of nodes in @pool
 * @nr_used:    number of free extents (nodes in use)
 * @base:       physical address of offset 0, alignment is applied to it
 * @start:      first offset managed
 * @end:        end of the managed range (exclusive)
 * @free_bytes: sum of all free extents
 */
struct pdma_extents {
	struct rb_root root;
	struct pdma_extent *pool;
	struct pdma_extent *free_nodes;
	u32 nr_pool;
	u32 nr_used;
	u64 base;
	u64 start;
	u64 end;
	u64 free_bytes;
};

void pdma_extents_init(struct pdma_extents *ex, struct pdma_extent *pool,
		       u32 nr_pool, u64 base, u64 start, u64 end);
void pdma_extents_reset(struct pdma_extents *ex);
int pdma_extents_append(struct pdma_extents *ex, u64 start, u64 len);
void pdma_extents_seal(struct pdma_extents *ex);
int pdma_extents_alloc(struct pdma_extents *ex, u64 size, u64 align,
		       u64 *off);
int pdma_extents_free(struct pdma_extents *ex, u64 off, u64 size);
u64 pdma_extents_largest(const struct pdma_extents *ex);
int pdma_extents_next(const struct pdma_extents *ex, u64 pos, u64 *start,
		      u64 *len);
int pdma_extents_verify(const struct pdma_extents *ex);

u32 pdma_crc32c(u32 crc, const void *buf, size_t len);
u32 pdma_crc32c_copy(u32 crc, void *dst, const void *src, size_t len);
#ifndef __KERNEL__
/* Userspace only: the two implementations behind pdma_crc32c(). */
u32 pdma_crc32c_sw(u32 crc, const void *buf, size_t len);
u32 pdma_crc32c_hw(u32 crc, const void *buf, size_t len);
bool pdma_crc32c_have_hw(void);
#endif

/**
 * struct pdma_core_ops - how the core stores into region memory
 * @write: copy @len bytes from @src to region offset @off. Stores must
 *         reach the region in call order: the commit protocol relies on
 *         the CRC store (the last call) landing after everything else.
 */
struct pdma_core_ops {
	void (*write)(void *ctx, u64 off, const void *src, size_t len);
};

/**
 * struct pdma_core_config - a region as configured by the caller
 * @base:     physical base, page aligned
 * @size:     size in bytes, page aligned
 * @capacity: entry slots; an existing table must have the same capacity
 * @table:    readable mapping of the first data_offset bytes of the region
 * @ops:      store hook, or NULL for an inspection-only core (pdma-dump)
 * @ctx:      passed to @ops
 */
struct pdma_core_config {
	u64 base;
	u64 size;
	u32 capacity;
	const void *table;
	const struct pdma_core_ops *ops;
	void *ctx;
};

/**
 * struct pdma_layout - where things are in a region
 * @copy_size:   bytes of one table copy, a multiple of %PDMA_TABLE_ALIGN
 * @data_offset: offset of the data area, 2 * @copy_size
 */
struct pdma_layout {
	u64 copy_size;
	u64 data_offset;
};

/**
 * enum pdma_copy_status - verdict on one table copy
 * @PDMA_COPY_OK:                valid
 * @PDMA_COPY_UNCHECKED:         not examined: a newer valid copy won
 * @PDMA_COPY_NO_MAGIC:          no table here
 * @PDMA_COPY_BAD_VERSION:       unknown version
 * @PDMA_COPY_BAD_LAYOUT:        header_size, entry_size or data_offset wrong
 * @PDMA_COPY_CAPACITY_MISMATCH: formatted with another capacity
 * @PDMA_COPY_BAD_CRC:           checksum mismatch
 * @PDMA_COPY_REGION_MISMATCH:   formatted for another base or size
 * @PDMA_COPY_BAD_HEADER:        reserved field set, generation zero or
 *                               %PDMA_GEN_LIMIT or more
 * @PDMA_COPY_BAD_STATE:         a slot has an unknown state
 * @PDMA_COPY_BAD_FREE_SLOT:     a free slot is not all zero
 * @PDMA_COPY_BAD_NAME:          empty, unterminated or unpadded name
 * @PDMA_COPY_BAD_ENTRY:         entry field out of range or misaligned
 * @PDMA_COPY_OVERLAP:           two entries overlap
 * @PDMA_COPY_DUPLICATE_NAME:    two entries share a name
 * @PDMA_COPY_BAD_COUNT:         nr_entries differs from the used slots
 * @PDMA_COPY_NR_STATUS:         number of values
 */
enum pdma_copy_status {
	PDMA_COPY_OK,
	PDMA_COPY_UNCHECKED,
	PDMA_COPY_NO_MAGIC,
	PDMA_COPY_BAD_VERSION,
	PDMA_COPY_BAD_LAYOUT,
	PDMA_COPY_CAPACITY_MISMATCH,
	PDMA_COPY_BAD_CRC,
	PDMA_COPY_REGION_MISMATCH,
	PDMA_COPY_BAD_HEADER,
	PDMA_COPY_BAD_STATE,
	PDMA_COPY_BAD_FREE_SLOT,
	PDMA_COPY_BAD_NAME,
	PDMA_COPY_BAD_ENTRY,
	PDMA_COPY_OVERLAP,
	PDMA_COPY_DUPLICATE_NAME,
	PDMA_COPY_BAD_COUNT,
	PDMA_COPY_NR_STATUS,
};

/**
 * enum pdma_crc_verdict - what the checksum of a copy says
 * @PDMA_CRC_UNCHECKED: not computed: the copy failed a check made before it
 *                      (magic, version, header or entry size, capacity), or
 *                      it was not examined at all
 * @PDMA_CRC_GOOD:      the stored checksum matches the computed one
 * @PDMA_CRC_BAD:       it does not
 */
enum pdma_crc_verdict {
	PDMA_CRC_UNCHECKED,
	PDMA_CRC_GOOD,
	PDMA_CRC_BAD,
};

/**
 * struct pdma_copy_report - why a copy was accepted or rejected
 * @status:       verdict
 * @slot:         offending slot, or U32_MAX if the header is at fault
 * @other:        second slot of an overlap or duplicate, else U32_MAX
 * @generation:   generation as read from the header (untrusted unless OK)
 * @crc:          &enum pdma_crc_verdict
 * @crc_stored:   crc32c field as read from the header
 * @crc_computed: checksum computed over the copy, 0 while @crc is
 *                %PDMA_CRC_UNCHECKED
 */
struct pdma_copy_report {
	enum pdma_copy_status status;
	u32 slot;
	u32 other;
	u64 generation;
	enum pdma_crc_verdict crc;
	u32 crc_stored;
	u32 crc_computed;
};

/**
 * enum pdma_load_result - outcome of pdma_core_load()
 * @PDMA_LOAD_EMPTY:    neither copy has the magic: format the region
 * @PDMA_LOAD_OK:       the newest valid copy was loaded: adopt it
 * @PDMA_LOAD_CORRUPT:  a table is there but no copy is valid: read-only
 * @PDMA_LOAD_MISMATCH: an intact table made for another base, size or
 *                      capacity: read-only
 */
enum pdma_load_result {
	PDMA_LOAD_EMPTY,
	PDMA_LOAD_OK,
	PDMA_LOAD_CORRUPT,
	PDMA_LOAD_MISMATCH,
};

/**
 * struct pdma_load_report - details of pdma_core_load()
 * @copy: verdict on copy A and copy B
 * @used: the copy that was loaded, or -1
 */
struct pdma_load_report {
	struct pdma_copy_report copy[2];
	int used;
};

/**
 * enum pdma_core_state - what a core can do
 * @PDMA_CORE_NEW:      neither loaded nor formatted; no mutations
 * @PDMA_CORE_LIVE:     holds a valid table
 * @PDMA_CORE_READONLY: the region holds a table it must not touch
 */
enum pdma_core_state {
	PDMA_CORE_NEW,
	PDMA_CORE_LIVE,
	PDMA_CORE_READONLY,
};

/**
 * struct pdma_core_info - summary of a core
 * @base:         physical base of the region
 * @size:         region size
 * @data_offset:  start of the data area
 * @free_bytes:   bytes of the data area not covered by an entry
 * @largest_free: largest free extent
 * @generation:   generation of the current copy
 * @adopt_count:  number of adoptions recorded in the table
 * @nr_entries:   used slots
 * @capacity:     slots
 * @state:        &enum pdma_core_state
 * @current_copy: copy holding the current state (0 = A, 1 = B), or -1
 */
struct pdma_core_info {
	u64 base;
	u64 size;
	u64 data_offset;
	u64 free_bytes;
	u64 largest_free;
	u64 generation;
	u32 adopt_count;
	u32 nr_entries;
	u32 capacity;
	enum pdma_core_state state;
	int current_copy;
};

/**
 * struct pdma_core_entry - one used slot, in CPU byte order
 * @name:       NUL-terminated, NUL-padded name
 * @offset:     offset from the region base
 * @size:       bytes
 * @align:      physical alignment
 * @create_gen: generation of the commit that allocated it
 * @flags:      PDMA_ALLOC_* given at allocation
 * @state:      PDMA_ENTRY_*
 * @id:         slot index
 */
struct pdma_core_entry {
	char name[PDMA_NAME_MAX];
	u64 offset;
	u64 size;
	u64 align;
	u64 create_gen;
	u32 flags;
	u32 state;
	u32 id;
};

/*
 * struct pdma_core is visible only so that the core can be split across
 * files; callers use the functions below and never touch its members.
 */

/**
 * struct pdma_image - a table copy in memory, in the on-memory format
 * @hdr: header, followed directly by @ent so one CRC pass covers both
 * @ent: capacity slots
 */
struct pdma_image {
	struct pdma_table_header *hdr;
	struct pdma_table_entry *ent;
};

/**
 * struct pdma_names - chained hash of the used slots by name
 * @head: per bucket, first slot or U32_MAX
 * @next: per slot, next slot in its chain
 * @hash: per slot, hash of its name
 */
struct pdma_names {
	u32 *head;
	u32 *next;
	u32 *hash;
};

/**
 * struct pdma_core - state of one region
 * @base:          physical base
 * @size:          region size
 * @copy_size:     bytes of one table copy
 * @data_offset:   start of the data area
 * @capacity:      slots
 * @bucket_mask:   name hash buckets - 1
 * @hash_key:      hsiphash key of the name hash, random per core
 * @table:         readable mapping of the table area
 * @ops:           store hook, NULL for inspection only
 * @ctx:           passed to @ops
 * @state:         &enum pdma_core_state
 * @cur:           copy holding the current state, -1 if none
 * @nr_used:       used slots
 * @nr_free_slots: entries on @free_slots
 * @free_slots:    stack of unused slot indices
 * @img:           [0] live shadow of the current copy, [1] scratch
 * @names:         [0] live name hash, [1] scratch
 * @sort:          2 * (capacity + 1) sort keys
 * @bucket:        2 * capacity bucket ends, for sorting the keys
 * @pool:          capacity + 1 extent nodes
 * @ext:           free extents of the data area
 * @reserved_bytes: bytes taken from @ext by pdma_core_reserve() and not
 *                 yet published or unreserved
 * @img_crc:       raw CRC32C state (from ~0) of the shadow image with the
 *                 header as in @hdr_last, kept current slot by slot
 * @scratch_crc:   the same for the scratch image, set by validation
 * @slot_crc0:     zero-start CRC of the slot given to pdma_slot_begin()
 * @hdr_last:      header of the last commit, crc32c zero
 * @nr_dirty:      slots listed in @dirty: [0] changed since the last
 *                 commit, [1] changed by it; %PDMA_DIRTY_ALL for all
 * @dirty:         their indices
 */
struct pdma_core {
	u64 base;
	u64 size;
	u64 copy_size;
	u64 data_offset;
	u32 capacity;
	u32 bucket_mask;
	hsiphash_key_t hash_key;
	const u8 *table;
	const struct pdma_core_ops *ops;
	void *ctx;
	enum pdma_core_state state;
	int cur;
	u32 nr_used;
	u32 nr_free_slots;
	u32 *free_slots;
	struct pdma_image img[2];
	struct pdma_names names[2];
	u64 *sort;
	u32 *bucket;
	struct pdma_extent *pool;
	struct pdma_extents ext;
	u64 reserved_bytes;
	u32 img_crc;
	u32 scratch_crc;
	u32 slot_crc0;
	struct pdma_table_header hdr_last;
	u32 nr_dirty[2];
	u32 dirty[2][PDMA_DIRTY_MAX];
};

#define PDMA_NONE	U32_MAX

/* Bytes of a table copy that are CRC'd: header and all slots. */
static inline size_t pdma_img_bytes(const struct pdma_core *core)
{
	return sizeof(struct pdma_table_header) +
	       (size_t)core->capacity * sizeof(struct pdma_table_entry);
}

/* Shared between the core's files, not for callers. */
bool pdma_name_check(const char *name, const hsiphash_key_t *key,
		     u32 *hash);
u32 pdma_names_find(const struct pdma_core *core, const struct pdma_names *nm,
		    const struct pdma_table_entry *ent, const char *name,
		    u32 hv);
void pdma_names_add(const struct pdma_core *core, struct pdma_names *nm,
		    u32 slot, u32 hv);
void pdma_names_clear(const struct pdma_core *core, struct pdma_names *nm);
void pdma_fill(const struct pdma_core *core, u32 slot,
	       struct pdma_core_entry *out);
s64 pdma_find(const struct pdma_core *core, const char *name);
void pdma_commit(struct pdma_core *core);
void pdma_slot_begin(struct pdma_core *core, u32 slot);
void pdma_slot_end(struct pdma_core *core, u32 slot);
void pdma_preserve_all(struct pdma_core *core);
void pdma_shift_init(void);
u32 pdma_crc_full(const struct pdma_core *core);

int pdma_core_layout(u64 base, u64 size, u32 capacity,
		     struct pdma_layout *layout);
u32 pdma_core_peek_capacity(const void *table);
u32 pdma_core_probe_capacity(const void *table, u64 len, u64 base, u64 size);
u32 pdma_core_peek_region(const void *table, u64 *base, u64 *size);
int pdma_core_create(const struct pdma_core_config *cfg,
		     struct pdma_core **corep);
void pdma_core_destroy(struct pdma_core *core);

enum pdma_load_result pdma_core_load(struct pdma_core *core,
				     struct pdma_load_report *rep);
int pdma_core_format(struct pdma_core *core);
enum pdma_copy_status pdma_core_check_copy(struct pdma_core *core,
					   unsigned int copy,
					   struct pdma_copy_report *rep);
const char *pdma_copy_status_str(enum pdma_copy_status status);

int pdma_core_alloc(struct pdma_core *core, const char *name, u64 size,
		    u64 align, u32 flags, struct pdma_core_entry *out);
int pdma_core_reserve(struct pdma_core *core, const char *name, u64 *size,
		      u64 *align, u32 flags, u64 *off);
void pdma_core_unreserve(struct pdma_core *core, u64 off, u64 size);
int pdma_core_publish(struct pdma_core *core, const char *name, u64 off,
		      u64 size, u64 align, u32 flags,
		      struct pdma_core_entry *out);
int pdma_core_free(struct pdma_core *core, const char *name);
int pdma_core_claim(struct pdma_core *core, const char *name,
		    struct pdma_core_entry *out);
int pdma_core_adopt(struct pdma_core *core);

int pdma_core_lookup(const struct pdma_core *core, const char *name,
		     struct pdma_core_entry *out);
int pdma_core_entry(const struct pdma_core *core, u32 slot,
		    struct pdma_core_entry *out);
int pdma_core_next_entry(const struct pdma_core *core, u32 *cursor,
			 struct pdma_core_entry *out);
int pdma_core_next_free(const struct pdma_core *core, u64 *cursor, u64 *off,
			u64 *len);
void pdma_core_info(const struct pdma_core *core, struct pdma_core_info *info);
int pdma_core_verify(const struct pdma_core *core);

#endif /* _PDMA_CORE_H */
