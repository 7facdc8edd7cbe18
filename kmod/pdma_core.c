// SPDX-License-Identifier: GPL-2.0
/*
 * pdma core: in-memory state of a region and the queries on it.
 *
 * The core keeps a shadow image of the current table copy (header and all
 * slots, in the on-memory little-endian format), a name hash over the
 * slots, a stack of free slots and the free-extent allocator of
 * pdma_alloc.c. Here: names and their hash, creating the core, lookups,
 * walks and the invariant check. What changes a region (alloc, free,
 * claim, adopt) is in pdma_mutate.c, loading in pdma_table.c, committing
 * in pdma_commit.c.
 */

#include "pdma_shim.h"
#include "pdma_core.h"
#include <linux/pdma_table.h>

static_assert(sizeof(struct pdma_table_header) == 128, "header is 128 bytes");
static_assert(sizeof(struct pdma_table_entry) == 128, "entry is 128 bytes");
static_assert(PDMA_TABLE_ALIGN == PDMA_PAGE_SIZE, "copies are page aligned");

#define PDMA_LOW7	0x7f7f7f7f7f7f7f7fULL
#define PDMA_HIGH	0x8080808080808080ULL

/* High bit set in exactly the non-zero bytes of @v. */
static inline u64 pdma_nonzero_bytes(u64 v)
{
	return (((v & PDMA_LOW7) + PDMA_LOW7) | v) & PDMA_HIGH;
}

/* True if every byte of @v with its bit set in @live is printable ASCII. */
static inline bool pdma_printable(u64 v, u64 live)
{
	u64 low = v & PDMA_LOW7;

	/* Each test sets a byte's high bit when that byte is bad. */
	return !((v | ~(low + 0x6060606060606060ULL) |
		  (low + 0x0101010101010101ULL)) & live);
}

/**
 * pdma_name_check() - validate a name, a word at a time, and hash it
 * @name: %PDMA_NAME_MAX bytes
 * @key:  hsiphash key of the core, random per core
 * @hash: out: hash of a valid name, for the name hash
 *
 * A valid name is one or more printable ASCII bytes (0x20 to 0x7e)
 * followed only by zero bytes (at least one): names reach log lines, so
 * no control or escape byte may hide in them. Each word is loaded as
 * little-endian, so byte i of the name is byte i of the word on every CPU;
 * in the word holding the NUL the non-zero bytes must then form a prefix,
 * i.e. a mask of the form 2^k - 1. This runs for every slot when a table
 * is loaded, hence the word trick.
 *
 * The hash is the kernel's hsiphash() with a key drawn when the core is
 * created: names in a table come from whoever wrote it, and with a fixed
 * or weak hash a set of names sharing one bucket makes every load
 * quadratic. hsiphash is the kernel's keyed hash for exactly that, hash
 * tables fed by others (SipHash-1-3 on 64-bit), at about half the cost of
 * full SipHash-2-4 on every slot of a load.
 *
 * Return: true if @name is printable, NUL-terminated, non-empty and
 * NUL-padded.
 */
bool pdma_name_check(const char *name, const hsiphash_key_t *key, u32 *hash)
{
	unsigned int i;
	u64 v, m;
	__le64 w;

	for (i = 0; i < PDMA_NAME_MAX; i += sizeof(w)) {
		memcpy(&w, name + i, sizeof(w));
		v = le64_to_cpu(w);
		m = pdma_nonzero_bytes(v);
		if (!pdma_printable(v, m))
			return false;
		if (m == PDMA_HIGH)
			continue;
		/* One 0xff byte per non-zero byte: is it 2^k - 1? */
		m = (m >> 7) * 0xff;
		if (m & (m + 1) || (!i && !m))
			return false;
		/* The rest must be zero. */
		for (v = 0, i += sizeof(w); i < PDMA_NAME_MAX; i += sizeof(w)) {
			memcpy(&w, name + i, sizeof(w));
			v |= (__force u64)w;
		}
		if (v)
			return false;
		/* The padding is all zero: hash the name only. */
		*hash = hsiphash(name, strnlen(name, PDMA_NAME_MAX), key);
		return true;
	}
	return false;
}

/**
 * pdma_names_find() - look a name up in a name hash
 * @core: core, for the bucket mask
 * @nm:   hash to search
 * @ent:  slots that @nm indexes
 * @name: valid name
 * @hv:   hash of @name from pdma_name_check()
 *
 * Return: the slot, or %PDMA_NONE.
 */
u32 pdma_names_find(const struct pdma_core *core, const struct pdma_names *nm,
		    const struct pdma_table_entry *ent, const char *name,
		    u32 hv)
{
	u32 i;

	for (i = nm->head[hv & core->bucket_mask]; i != PDMA_NONE;
	     i = nm->next[i])
		if (nm->hash[i] == hv && !memcmp(ent[i].name, name, PDMA_NAME_MAX))
			return i;
	return PDMA_NONE;
}

/**
 * pdma_names_add() - index a slot by its name
 * @core: core, for the bucket mask
 * @nm:   hash to add to
 * @slot: slot index
 * @hv:   hash of the slot's name from pdma_name_check()
 */
void pdma_names_add(const struct pdma_core *core, struct pdma_names *nm,
		    u32 slot, u32 hv)
{
	u32 *head = &nm->head[hv & core->bucket_mask];

	nm->hash[slot] = hv;
	nm->next[slot] = *head;
	*head = slot;
}

/**
 * pdma_names_clear() - empty a name hash
 * @core: core, for the bucket mask
 * @nm:   hash
 */
void pdma_names_clear(const struct pdma_core *core, struct pdma_names *nm)
{
	memset(nm->head, 0xff, (core->bucket_mask + 1) * sizeof(u32));
}

/**
 * pdma_core_destroy() - free a core
 * @core: core from pdma_core_create(), or NULL
 */
void pdma_core_destroy(struct pdma_core *core)
{
	int i;

	if (!core)
		return;
	for (i = 0; i < 2; i++) {
		kvfree(core->img[i].hdr);
		kvfree(core->names[i].head);
		kvfree(core->names[i].next);
		kvfree(core->names[i].hash);
	}
	kvfree(core->free_slots);
	kvfree(core->sort);
	kvfree(core->bucket);
	kvfree(core->pool);
	kvfree(core);
}

/**
 * pdma_core_create() - allocate a core for a region
 * @cfg:   region, table mapping and store hook
 * @corep: out: the core, in state %PDMA_CORE_NEW
 *
 * All memory the core will ever need is allocated here, about 400 bytes
 * per slot (two images, two name hashes, sort keys, extent nodes), so no
 * later operation can fail for lack of memory. Call pdma_core_load()
 * next. The first call also builds the CRC32C and shift tables, so it must
 * not race with any other use of the core (the module calls it from its
 * init).
 *
 * Return: 0, -EINVAL for a bad region or config, -ENOMEM.
 */
int pdma_core_create(const struct pdma_core_config *cfg,
		     struct pdma_core **corep)
{
	struct pdma_layout layout;
	struct pdma_core *core;
	u32 cap = cfg->capacity, nb = 1;
	int i, ret;

	ret = pdma_core_layout(cfg->base, cfg->size, cap, &layout);
	if (ret)
		return ret;
	if (!cfg->table || (cfg->ops && !cfg->ops->write))
		return -EINVAL;
	core = kvcalloc(1, sizeof(*core), GFP_KERNEL);
	if (!core)
		return -ENOMEM;
	core->base = cfg->base;
	core->size = cfg->size;
	core->capacity = cap;
	core->copy_size = layout.copy_size;
	core->data_offset = layout.data_offset;
	core->table = cfg->table;
	core->ops = cfg->ops;
	core->ctx = cfg->ctx;
	core->state = PDMA_CORE_NEW;
	core->cur = -1;
	/* Load factor <= 0.5 keeps chains short without per-op resizing. */
	while (nb < 2 * cap)
		nb <<= 1;
	core->bucket_mask = nb - 1;
	get_random_bytes(&core->hash_key, sizeof(core->hash_key));

	for (i = 0; i < 2; i++) {
		core->img[i].hdr = kvcalloc(1, pdma_img_bytes(core), GFP_KERNEL);
		core->names[i].head = kvcalloc(nb, sizeof(u32), GFP_KERNEL);
		core->names[i].next = kvcalloc(cap, sizeof(u32), GFP_KERNEL);
		core->names[i].hash = kvcalloc(cap, sizeof(u32), GFP_KERNEL);
		if (!core->img[i].hdr || !core->names[i].head ||
		    !core->names[i].next || !core->names[i].hash)
			goto nomem;
		core->img[i].ent = (struct pdma_table_entry *)(core->img[i].hdr + 1);
	}
	core->free_slots = kvcalloc(cap, sizeof(u32), GFP_KERNEL);
	core->sort = kvcalloc(2 * ((size_t)cap + 1), sizeof(u64), GFP_KERNEL);
	core->bucket = kvcalloc(2 * (size_t)cap, sizeof(u32), GFP_KERNEL);
	core->pool = kvcalloc((size_t)cap + 1, sizeof(*core->pool), GFP_KERNEL);
	if (!core->free_slots || !core->sort || !core->bucket || !core->pool)
		goto nomem;
	pdma_extents_init(&core->ext, core->pool, cap + 1, core->base,
			  core->data_offset, core->size);
	pdma_crc32c(0, NULL, 0);
	pdma_shift_init();
	*corep = core;
	return 0;

nomem:
	pdma_core_destroy(core);
	return -ENOMEM;
}

/**
 * pdma_fill() - copy a used slot out in CPU byte order
 * @core: live core
 * @slot: used slot
 * @out:  out: the entry, padding zeroed
 */
void pdma_fill(const struct pdma_core *core, u32 slot,
	       struct pdma_core_entry *out)
{
	const struct pdma_table_entry *e = &core->img[0].ent[slot];

	memset(out, 0, sizeof(*out));	/* no stale padding towards users */
	memcpy(out->name, e->name, PDMA_NAME_MAX);
	out->offset = le64_to_cpu(e->offset);
	out->size = le64_to_cpu(e->size);
	out->align = le64_to_cpu(e->align);
	out->create_gen = le64_to_cpu(e->create_gen);
	out->flags = le32_to_cpu(e->flags);
	out->state = le32_to_cpu(e->state);
	out->id = slot;
}

/**
 * pdma_find() - slot of a live entry by name
 * @core: core
 * @name: name to validate and look up
 *
 * Return: the slot, -EINVAL for a bad name, -ENOENT.
 */
s64 pdma_find(const struct pdma_core *core, const char *name)
{
	u32 slot, hv;

	if (!pdma_name_check(name, &core->hash_key, &hv))
		return -EINVAL;
	if (core->state != PDMA_CORE_LIVE)
		return -ENOENT;
	slot = pdma_names_find(core, &core->names[0], core->img[0].ent, name,
			       hv);
	if (slot == PDMA_NONE)
		return -ENOENT;
	return slot;
}

/**
 * pdma_core_lookup() - find an entry by name without changing it
 * @core: core
 * @name: as for pdma_core_alloc()
 * @out:  out: the entry
 *
 * Return: 0, -EINVAL for a bad name, -ENOENT.
 */
int pdma_core_lookup(const struct pdma_core *core, const char *name,
		     struct pdma_core_entry *out)
{
	s64 slot = pdma_find(core, name);

	if (slot < 0)
		return slot;
	pdma_fill(core, slot, out);
	return 0;
}

/**
 * pdma_core_entry() - entry in a given slot
 * @core: core
 * @slot: slot index
 * @out:  out: the entry
 *
 * Return: 0, or -ENOENT if @slot is out of range or unused.
 */
int pdma_core_entry(const struct pdma_core *core, u32 slot,
		    struct pdma_core_entry *out)
{
	if (core->state != PDMA_CORE_LIVE || slot >= core->capacity ||
	    core->img[0].ent[slot].state == cpu_to_le32(PDMA_ENTRY_FREE))
		return -ENOENT;
	pdma_fill(core, slot, out);
	return 0;
}

/**
 * pdma_core_next_entry() - walk the used slots in slot order
 * @core:   core
 * @cursor: in: first slot to look at (0 to start); out: the next one
 * @out:    out: the entry
 *
 * Same contract as PDMA_IOC_LIST.
 *
 * Return: 0, or -ENOENT when no used slot remains.
 */
int pdma_core_next_entry(const struct pdma_core *core, u32 *cursor,
			 struct pdma_core_entry *out)
{
	u32 i;

	if (core->state != PDMA_CORE_LIVE)
		return -ENOENT;
	for (i = *cursor; i < core->capacity; i++) {
		if (core->img[0].ent[i].state != cpu_to_le32(PDMA_ENTRY_FREE)) {
			pdma_fill(core, i, out);
			*cursor = i + 1;
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * pdma_core_next_free() - walk the free extents in address order
 * @core:   core
 * @cursor: in: offset to search from (0 to start); out: where to go on
 * @off:    out: start of the extent
 * @len:    out: its length
 *
 * Return: 0, or -ENOENT when no extent remains. O(log n) per call.
 */
int pdma_core_next_free(const struct pdma_core *core, u64 *cursor, u64 *off,
			u64 *len)
{
	int ret;

	if (core->state != PDMA_CORE_LIVE)
		return -ENOENT;
	ret = pdma_extents_next(&core->ext, *cursor, off, len);
	if (!ret)
		*cursor = *off + *len;
	return ret;
}

/**
 * pdma_core_info() - summary of a core
 * @core: core
 * @info: out: summary; usage fields are zero unless the core is live
 */
void pdma_core_info(const struct pdma_core *core, struct pdma_core_info *info)
{
	const struct pdma_table_header *h = core->img[0].hdr;

	memset(info, 0, sizeof(*info));
	info->base = core->base;
	info->size = core->size;
	info->data_offset = core->data_offset;
	info->capacity = core->capacity;
	info->state = core->state;
	info->current_copy = -1;
	if (core->state != PDMA_CORE_LIVE)
		return;
	info->free_bytes = core->ext.free_bytes;
	info->largest_free = pdma_extents_largest(&core->ext);
	info->generation = le64_to_cpu(h->generation);
	info->adopt_count = le32_to_cpu(h->adopt_count);
	info->nr_entries = core->nr_used;
	info->current_copy = core->cur;
}

/**
 * pdma_core_verify() - check the in-memory invariants of a core
 * @core: core
 *
 * For tests and fuzzers: slot accounting, name hash, free-slot stack and
 * the extent allocator agree with the shadow image, and allocated plus
 * free bytes cover the data area exactly. O(capacity + n log n).
 *
 * Return: 0 or -EUCLEAN.
 */
int pdma_core_verify(const struct pdma_core *core)
{
	const struct pdma_table_entry *e;
	u64 used_bytes = 0, sum_free = 0, sum_stack = 0;
	u32 i, used = 0;

	if (core->state != PDMA_CORE_LIVE)
		return 0;
	for (i = 0; i < core->capacity; i++) {
		e = &core->img[0].ent[i];
		if (e->state == cpu_to_le32(PDMA_ENTRY_FREE)) {
			if (!mem_is_zero(e, sizeof(*e)))
				return -EUCLEAN;
			sum_free += i;
			continue;
		}
		if (le32_to_cpu(e->state) > PDMA_ENTRY_CLAIMED ||
		    pdma_find(core, e->name) != i)
			return -EUCLEAN;
		used++;
		used_bytes += le64_to_cpu(e->size);
	}
	for (i = 0; i < core->nr_free_slots; i++)
		sum_stack += core->free_slots[i];
	if (used != core->nr_used ||
	    used + core->nr_free_slots != core->capacity ||
	    sum_stack != sum_free || (core->cur != 0 && core->cur != 1) ||
	    le32_to_cpu(core->img[0].hdr->nr_entries) != used ||
	    core->img_crc != pdma_crc_full(core) ||
	    used_bytes + core->ext.free_bytes + core->reserved_bytes !=
	    core->size - core->data_offset)
		return -EUCLEAN;
	return pdma_extents_verify(&core->ext);
}
