// SPDX-License-Identifier: GPL-2.0
/*
 * pdma core: the table codec. Layout, validation and loading of the two
 * table copies, as specified in the DOC block of <linux/pdma_table.h>;
 * commits and format are in pdma_commit.c.
 *
 * Validation works on the scratch image and name hash of the core, and
 * loading swaps them in only once a copy is found valid, so checking a
 * copy, even on a live core, never disturbs the live state.
 */

#include "pdma_shim.h"
#include "pdma_core.h"
#include <linux/pdma_table.h>

/* An extent recorded in a table: aligned, non-empty, in the data area. */
static bool pdma_span_ok(const struct pdma_core *core, u64 off, u64 size,
			 u64 align)
{
	return size && !((off | size) & (PDMA_PAGE_SIZE - 1)) &&
	       align >= PDMA_ALIGN_MIN && align <= PDMA_ALIGN_MAX &&
	       !(align & (align - 1)) && !((core->base + off) & (align - 1)) &&
	       off >= core->data_offset && off <= core->size &&
	       size <= core->size - off;
}

/**
 * pdma_core_layout() - validate a region and compute its layout
 * @base:     physical base
 * @size:     bytes
 * @capacity: entry slots
 * @layout:   out: copy size and data offset
 *
 * Return: 0, or -EINVAL if @base or @size is not page aligned, the region
 * wraps or reaches %PDMA_CORE_MAX_REGION, @capacity is 0 or above
 * %PDMA_CORE_MAX_CAPACITY, or no data page is left after both copies.
 */
int pdma_core_layout(u64 base, u64 size, u32 capacity,
		     struct pdma_layout *layout)
{
	u64 copy;

	if (!capacity || capacity > PDMA_CORE_MAX_CAPACITY ||
	    (base | size) & (PDMA_PAGE_SIZE - 1) ||
	    size >= PDMA_CORE_MAX_REGION || base > U64_MAX - size)
		return -EINVAL;
	copy = pdma_table_copy_size(capacity);
	if (size < 2 * copy + PDMA_PAGE_SIZE)
		return -EINVAL;
	layout->copy_size = copy;
	layout->data_offset = 2 * copy;
	return 0;
}

/**
 * pdma_core_peek_capacity() - capacity recorded in copy A of a region
 * @table: readable start of the region (or of another table copy), at
 *         least sizeof(struct pdma_table_header) bytes
 *
 * A table only loads with the capacity it was formatted with (otherwise
 * %PDMA_LOAD_MISMATCH), so a caller whose default capacity may have
 * changed since can configure the core with this value instead. It is not
 * validated: a wrong value only makes the load fail safely.
 *
 * Return: the capacity, or 0 if copy A has no magic or an impossible one.
 */
u32 pdma_core_peek_capacity(const void *table)
{
	struct pdma_table_header h;
	u32 cap;

	memcpy(&h, table, sizeof(h));
	cap = le32_to_cpu(h.capacity);
	if (h.magic != cpu_to_le64(PDMA_TABLE_MAGIC) || !cap ||
	    cap > PDMA_CORE_MAX_CAPACITY)
		return 0;
	return cap;
}

/**
 * pdma_core_peek_region() - region recorded in a table copy
 * @table: readable start of a table copy, at least its header
 * @base:  out: the recorded region base
 * @size:  out: the recorded region size
 *
 * For tools that inspect a raw image of a region without knowing where it
 * was or how large it is (pdma-dump): with the capacity, this is enough to
 * configure an inspection-only core. As for pdma_core_peek_capacity(),
 * nothing is validated; a wrong value only makes the load report
 * %PDMA_COPY_REGION_MISMATCH or %PDMA_COPY_CAPACITY_MISMATCH.
 *
 * Return: the capacity, as pdma_core_peek_capacity(). @base and @size are
 * set only when it is not 0.
 */
u32 pdma_core_peek_region(const void *table, u64 *base, u64 *size)
{
	struct pdma_table_header h;
	u32 cap = pdma_core_peek_capacity(table);

	if (cap) {
		memcpy(&h, table, sizeof(h));
		*base = le64_to_cpu(h.region_base);
		*size = le64_to_cpu(h.region_size);
	}
	return cap;
}

/*
 * Whether the header at @off of a table area of @len bytes could start a
 * copy of a table for a region of @size bytes: the cheap filter before a
 * CRC. Copy A sits at 0, copy B right after A, at the copy size of its own
 * capacity. The region fields are not compared: a table made for another
 * region is for pdma_core_load() to report as such.
 */
static bool pdma_probe_header(const u8 *table, u64 len, u64 off, u64 base,
			      u64 size, u32 *cap, u64 *gen)
{
	struct pdma_table_header h;
	struct pdma_layout lay;

	if (off > len || len - off < sizeof(h))
		return false;
	memcpy(&h, table + off, sizeof(h));
	*cap = le32_to_cpu(h.capacity);
	*gen = le64_to_cpu(h.generation);
	return h.magic == cpu_to_le64(PDMA_TABLE_MAGIC) &&
	       le32_to_cpu(h.version) == PDMA_TABLE_VERSION &&
	       le32_to_cpu(h.header_size) == sizeof(h) &&
	       le32_to_cpu(h.entry_size) == sizeof(struct pdma_table_entry) &&
	       !pdma_core_layout(base, size, *cap, &lay) &&
	       (!off || off == lay.copy_size) && len - off >= lay.copy_size &&
	       le64_to_cpu(h.data_offset) == lay.data_offset &&
	       *gen && *gen < PDMA_GEN_LIMIT;
}

/* Whether the copy at @off, of @cap slots, passes its CRC, read in place. */
static bool pdma_probe_crc(const u8 *table, u64 off, u32 cap)
{
	const size_t at = offsetof(struct pdma_table_header, crc32c);
	const size_t bytes = sizeof(struct pdma_table_header) +
			     (size_t)cap * sizeof(struct pdma_table_entry);
	static const u8 zero[sizeof(__le32)];
	const u8 *p = table + off;
	__le32 stored;
	u32 crc;

	memcpy(&stored, p + at, sizeof(stored));
	crc = pdma_crc32c(~0U, p, at);
	crc = pdma_crc32c(crc, zero, sizeof(zero));
	crc = ~pdma_crc32c(crc, p + at + sizeof(zero), bytes - at - sizeof(zero));
	return crc == le32_to_cpu(stored);
}

/**
 * pdma_core_probe_capacity() - capacity of a CRC-valid table copy
 * @table: readable start of the region
 * @len:   readable bytes at @table
 * @base:  physical base the region is configured with
 * @size:  size the region is configured with
 *
 * A table only loads with the capacity it was formatted with, and the
 * capacity also places copy B, so a caller whose capacity parameter may
 * have changed since configures the core with this value. Nothing from a
 * header is trusted before its copy passes the CRC: a copy A whose
 * capacity field was hit by a bit flip fails its CRC, and copy B is then
 * found by scanning the page-aligned offsets where a copy B can start (at
 * the copy size of its own capacity). Only the newest candidate B is
 * CRC'd, so the cost stays O(largest table) whatever the bytes are.
 *
 * Return: the capacity of a valid copy (A if valid, else B), or 0 if
 * neither copy is valid: the caller then uses its own capacity and the
 * load reports why.
 */
u32 pdma_core_probe_capacity(const void *table, u64 len, u64 base, u64 size)
{
	const u64 max = pdma_table_copy_size(PDMA_CORE_MAX_CAPACITY);
	u64 off, gen, best_gen = 0, best_off = 0;
	u32 cap, best_cap = 0;

	if (pdma_probe_header(table, len, 0, base, size, &cap, &gen) &&
	    pdma_probe_crc(table, 0, cap))
		return cap;
	for (off = PDMA_TABLE_ALIGN; off <= max && off < len;
	     off += PDMA_TABLE_ALIGN) {
		if (!pdma_probe_header(table, len, off, base, size, &cap, &gen) ||
		    gen <= best_gen)
			continue;
		best_gen = gen;
		best_off = off;
		best_cap = cap;
	}
	if (best_cap && pdma_probe_crc(table, best_off, best_cap))
		return best_cap;
	return 0;
}

/* Start the report on a copy from its raw header: nothing checked yet. */
static void pdma_report_start(struct pdma_copy_report *rep,
			      const struct pdma_table_header *h,
			      enum pdma_copy_status status)
{
	rep->status = status;
	rep->slot = PDMA_NONE;
	rep->other = PDMA_NONE;
	rep->generation = le64_to_cpu(h->generation);
	rep->crc = PDMA_CRC_UNCHECKED;
	rep->crc_stored = le32_to_cpu(h->crc32c);
	rep->crc_computed = 0;
}

static enum pdma_copy_status pdma_bad(struct pdma_copy_report *rep,
				      enum pdma_copy_status status, u32 slot,
				      u32 other)
{
	rep->status = status;
	rep->slot = slot;
	rep->other = other;
	return status;
}

static int pdma_key_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return (x > y) - (x < y);
}

/*
 * Sort @n keys (page << %PDMA_SORT_IDX_BITS | slot) by offset, into the
 * second half of core->sort. sort() (lib/sort.c, a heapsort) alone costs
 * O(n log n) calls through its comparison pointer: 4096 keys took 5 times
 * as long as the CRC32C of the whole table. So one counting pass first
 * spreads the keys over 2n buckets of equal span between the lowest and
 * the highest page, in order; a bucket of two keys is ordered in place and
 * sort() orders each larger one. Buckets then hold half a key on average
 * when the entries spread over their span, which first fit makes the rule,
 * and the whole is O(n); keys crowded into a few buckets cost sort()'s
 * O(n log n) at worst.
 */
static u64 *pdma_sort_keys(struct pdma_core *core, const u64 *keys, u32 n)
{
	u64 *out = core->sort + core->capacity + 1, lo = U64_MAX, hi = 0, pg, t;
	u32 *end = core->bucket, nb = 2 * n, i, b, c, sum;
	unsigned int shift = 0;

	if (n < 2) {
		memcpy(out, keys, n * sizeof(*out));
		return out;
	}
	for (i = 0; i < n; i++) {
		pg = keys[i] >> PDMA_SORT_IDX_BITS;
		lo = pg < lo ? pg : lo;
		hi = pg > hi ? pg : hi;
	}
	/* Bucket of a key: (page - lo) >> shift, below nb; page < 2^40. */
	while ((hi - lo) >> shift >= nb)
		shift++;
	memset(end, 0, nb * sizeof(*end));
	for (i = 0; i < n; i++)
		end[((keys[i] >> PDMA_SORT_IDX_BITS) - lo) >> shift]++;
	for (sum = 0, b = 0; b < nb; b++) {
		c = end[b];
		end[b] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++)
		out[end[((keys[i] >> PDMA_SORT_IDX_BITS) - lo) >> shift]++] = keys[i];
	/* end[b] is now where bucket b ends, and bucket b + 1 starts. */
	for (i = 0, b = 0; b < nb; i = end[b++]) {
		c = end[b] - i;
		if (c == 2 && out[i] > out[i + 1]) {
			t = out[i];
			out[i] = out[i + 1];
			out[i + 1] = t;
		} else if (c > 2) {
			sort(out + i, c, sizeof(*out), pdma_key_cmp, NULL);
		}
	}
	return out;
}

/*
 * Validate one copy into the scratch image and name hash. On success the
 * used slots, sorted by offset, are in *sortedp (inside core->sort).
 * Cheap header checks come before the CRC, the CRC before anything that
 * interprets the contents, so that a torn or stray copy is reported as a
 * bad CRC rather than as some odd field.
 */
static enum pdma_copy_status pdma_check(struct pdma_core *core,
					unsigned int copy,
					struct pdma_copy_report *rep,
					u64 **sortedp, u32 *nr)
{
	const u8 *src = core->table + copy * core->copy_size;
	struct pdma_table_header *h = core->img[1].hdr;
	struct pdma_table_entry *ent = core->img[1].ent, *e;
	struct pdma_names *nm = &core->names[1];
	u32 cap = core->capacity, i, n = 0, dup, hv, crc;
	u64 gen, off, size, cgen, *sorted;
	__le32 crc_le;

	memcpy(h, src, sizeof(*h));
	pdma_report_start(rep, h, PDMA_COPY_OK);
	gen = rep->generation;
	if (h->magic != cpu_to_le64(PDMA_TABLE_MAGIC))
		return pdma_bad(rep, PDMA_COPY_NO_MAGIC, PDMA_NONE, PDMA_NONE);
	if (le32_to_cpu(h->version) != PDMA_TABLE_VERSION)
		return pdma_bad(rep, PDMA_COPY_BAD_VERSION, PDMA_NONE, PDMA_NONE);
	if (le32_to_cpu(h->header_size) != sizeof(*h) ||
	    le32_to_cpu(h->entry_size) != sizeof(*ent))
		return pdma_bad(rep, PDMA_COPY_BAD_LAYOUT, PDMA_NONE, PDMA_NONE);
	if (le32_to_cpu(h->capacity) != cap)
		return pdma_bad(rep, PDMA_COPY_CAPACITY_MISMATCH, PDMA_NONE,
				PDMA_NONE);

	crc_le = h->crc32c;
	h->crc32c = 0;
	crc = pdma_crc32c(~0U, h, sizeof(*h));
	h->crc32c = crc_le;
	/* Slots are checksummed as they are copied: one pass over them. */
	crc = ~pdma_crc32c_copy(crc, ent, src + sizeof(*h),
				(size_t)cap * sizeof(*ent));
	rep->crc_computed = crc;
	core->scratch_crc = ~crc;
	rep->crc = crc == rep->crc_stored ? PDMA_CRC_GOOD : PDMA_CRC_BAD;
	if (rep->crc == PDMA_CRC_BAD)
		return pdma_bad(rep, PDMA_COPY_BAD_CRC, PDMA_NONE, PDMA_NONE);

	if (le64_to_cpu(h->region_base) != core->base ||
	    le64_to_cpu(h->region_size) != core->size)
		return pdma_bad(rep, PDMA_COPY_REGION_MISMATCH, PDMA_NONE,
				PDMA_NONE);
	if (le64_to_cpu(h->data_offset) != core->data_offset)
		return pdma_bad(rep, PDMA_COPY_BAD_LAYOUT, PDMA_NONE, PDMA_NONE);
	if (!gen || gen >= PDMA_GEN_LIMIT || h->reserved0 ||
	    !mem_is_zero(h->reserved, sizeof(h->reserved)))
		return pdma_bad(rep, PDMA_COPY_BAD_HEADER, PDMA_NONE, PDMA_NONE);

	pdma_names_clear(core, nm);
	for (i = 0; i < cap; i++) {
		if (!(i & PDMA_RESCHED_MASK))
			cond_resched();
		e = &ent[i];
		if (e->state == cpu_to_le32(PDMA_ENTRY_FREE)) {
			if (!mem_is_zero(e, sizeof(*e)))
				return pdma_bad(rep, PDMA_COPY_BAD_FREE_SLOT, i,
						PDMA_NONE);
			continue;
		}
		if (le32_to_cpu(e->state) > PDMA_ENTRY_CLAIMED)
			return pdma_bad(rep, PDMA_COPY_BAD_STATE, i, PDMA_NONE);
		if (!pdma_name_check(e->name, &core->hash_key, &hv))
			return pdma_bad(rep, PDMA_COPY_BAD_NAME, i, PDMA_NONE);
		off = le64_to_cpu(e->offset);
		size = le64_to_cpu(e->size);
		cgen = le64_to_cpu(e->create_gen);
		if (!pdma_span_ok(core, off, size, le64_to_cpu(e->align)) ||
		    !cgen || cgen > gen ||
		    le32_to_cpu(e->flags) & ~PDMA_ALLOC_FLAGS_ALL ||
		    (e->reserved[0] | e->reserved[1] | e->reserved[2]))
			return pdma_bad(rep, PDMA_COPY_BAD_ENTRY, i, PDMA_NONE);
		dup = pdma_names_find(core, nm, ent, e->name, hv);
		if (dup != PDMA_NONE)
			return pdma_bad(rep, PDMA_COPY_DUPLICATE_NAME, i, dup);
		pdma_names_add(core, nm, i, hv);
		core->sort[n++] = off / PDMA_PAGE_SIZE << PDMA_SORT_IDX_BITS | i;
	}
	if (n != le32_to_cpu(h->nr_entries))
		return pdma_bad(rep, PDMA_COPY_BAD_COUNT, PDMA_NONE, PDMA_NONE);

	/* Sorted by offset, overlaps can only be between neighbours. */
	sorted = pdma_sort_keys(core, core->sort, n);
	for (i = 1; i < n; i++) {
		const struct pdma_table_entry *a, *b;

		a = &ent[sorted[i - 1] & PDMA_SORT_IDX_MASK];
		b = &ent[sorted[i] & PDMA_SORT_IDX_MASK];
		if (le64_to_cpu(a->offset) + le64_to_cpu(a->size) >
		    le64_to_cpu(b->offset))
			return pdma_bad(rep, PDMA_COPY_OVERLAP, a - ent, b - ent);
	}
	*sortedp = sorted;
	*nr = n;
	return PDMA_COPY_OK;
}

/* Make the just-validated scratch image live and derive the rest from it. */
static void pdma_install(struct pdma_core *core, int copy, const u64 *sorted,
			 u32 n)
{
	struct pdma_image img = core->img[0];
	struct pdma_names nm = core->names[0];
	const struct pdma_table_entry *e;
	u64 pos = core->data_offset, off;
	u32 i;

	core->img[0] = core->img[1];
	core->img[1] = img;
	core->names[0] = core->names[1];
	core->names[1] = nm;
	core->cur = copy;
	core->nr_used = n;
	core->reserved_bytes = 0;
	/* The CRC of the validated copy; the other copy is of unknown age. */
	core->img_crc = core->scratch_crc;
	memcpy(&core->hdr_last, core->img[0].hdr, sizeof(core->hdr_last));
	core->hdr_last.crc32c = 0;
	core->nr_dirty[0] = 0;
	core->nr_dirty[1] = PDMA_DIRTY_ALL;

	/* Highest first, so that the lowest free slot is handed out first. */
	core->nr_free_slots = 0;
	for (i = core->capacity; i-- > 0;)
		if (core->img[0].ent[i].state == cpu_to_le32(PDMA_ENTRY_FREE))
			core->free_slots[core->nr_free_slots++] = i;

	/* Validated: gaps are in order and the pool holds n + 1 of them. */
	pdma_extents_reset(&core->ext);
	for (i = 0; i < n; i++) {
		e = &core->img[0].ent[sorted[i] & PDMA_SORT_IDX_MASK];
		off = le64_to_cpu(e->offset);
		if (off > pos)
			pdma_extents_append(&core->ext, pos, off - pos);
		pos = off + le64_to_cpu(e->size);
	}
	if (pos < core->size)
		pdma_extents_append(&core->ext, pos, core->size - pos);
	pdma_extents_seal(&core->ext);
	core->state = PDMA_CORE_LIVE;
}

/**
 * pdma_core_check_copy() - validate one table copy and say why it is bad
 * @core: core; its live state is not touched
 * @copy: 0 for copy A, 1 for copy B
 * @rep:  out: verdict, offending slots and raw generation
 *
 * Return: @rep->status.
 */
enum pdma_copy_status pdma_core_check_copy(struct pdma_core *core,
					   unsigned int copy,
					   struct pdma_copy_report *rep)
{
	static const struct pdma_table_header none;
	u64 *sorted;
	u32 n;

	if (copy > 1) {
		pdma_report_start(rep, &none, PDMA_COPY_NO_MAGIC);
		return rep->status;
	}
	return pdma_check(core, copy, rep, &sorted, &n);
}

/**
 * pdma_core_load() - adopt the table found in the region, if any
 * @core: core; any previous state is discarded
 * @rep:  out: verdict on each copy and which one was used; may be NULL
 *
 * The copy with the higher generation is tried first and the other one is
 * only examined (and CRC'd) if the first is invalid, so the newest valid
 * copy wins. A table that is present but unusable makes the core
 * read-only: it must never be overwritten behind the user's back.
 *
 * Return: %PDMA_LOAD_EMPTY (core stays %PDMA_CORE_NEW: format it),
 * %PDMA_LOAD_OK (core is live: adopt it), %PDMA_LOAD_CORRUPT or
 * %PDMA_LOAD_MISMATCH (core is %PDMA_CORE_READONLY).
 */
enum pdma_load_result pdma_core_load(struct pdma_core *core,
				     struct pdma_load_report *rep)
{
	struct pdma_load_report local;
	struct pdma_table_header h;
	enum pdma_copy_status st;
	bool magic[2], mismatch = false;
	int c, k, first;
	u64 *sorted;
	u32 n;

	if (!rep)
		rep = &local;
	core->state = PDMA_CORE_NEW;
	core->cur = -1;
	core->nr_used = 0;
	rep->used = -1;
	for (c = 0; c < 2; c++) {
		memcpy(&h, core->table + c * core->copy_size, sizeof(h));
		magic[c] = h.magic == cpu_to_le64(PDMA_TABLE_MAGIC);
		pdma_report_start(&rep->copy[c], &h, magic[c] ?
				  PDMA_COPY_UNCHECKED : PDMA_COPY_NO_MAGIC);
	}
	if (!magic[0] && !magic[1])
		return PDMA_LOAD_EMPTY;

	first = magic[1] && (!magic[0] ||
			     rep->copy[1].generation > rep->copy[0].generation);
	for (k = 0; k < 2; k++) {
		c = k ? !first : first;
		if (!magic[c])
			continue;
		st = pdma_check(core, c, &rep->copy[c], &sorted, &n);
		if (st == PDMA_COPY_OK) {
			pdma_install(core, c, sorted, n);
			rep->used = c;
			return PDMA_LOAD_OK;
		}
		if (st == PDMA_COPY_REGION_MISMATCH ||
		    st == PDMA_COPY_CAPACITY_MISMATCH)
			mismatch = true;
	}
	core->state = PDMA_CORE_READONLY;
	return mismatch ? PDMA_LOAD_MISMATCH : PDMA_LOAD_CORRUPT;
}

static const char * const pdma_copy_status_names[PDMA_COPY_NR_STATUS] = {
	[PDMA_COPY_OK]			= "valid",
	[PDMA_COPY_UNCHECKED]		= "not checked (newer copy valid)",
	[PDMA_COPY_NO_MAGIC]		= "no table (bad magic)",
	[PDMA_COPY_BAD_VERSION]		= "unsupported version",
	[PDMA_COPY_BAD_LAYOUT]		= "bad header, entry size or data offset",
	[PDMA_COPY_CAPACITY_MISMATCH]	= "capacity differs from configured",
	[PDMA_COPY_BAD_CRC]		= "bad crc32c",
	[PDMA_COPY_REGION_MISMATCH]	= "region base or size differs from configured",
	[PDMA_COPY_BAD_HEADER]		= "bad generation (0 or >= 2^63) or reserved header field",
	[PDMA_COPY_BAD_STATE]		= "unknown entry state",
	[PDMA_COPY_BAD_FREE_SLOT]	= "free slot not zeroed",
	[PDMA_COPY_BAD_NAME]		= "bad entry name",
	[PDMA_COPY_BAD_ENTRY]		= "entry field out of range",
	[PDMA_COPY_OVERLAP]		= "overlapping entries",
	[PDMA_COPY_DUPLICATE_NAME]	= "duplicate name",
	[PDMA_COPY_BAD_COUNT]		= "nr_entries does not match used slots",
};

/**
 * pdma_copy_status_str() - human-readable &enum pdma_copy_status
 * @status: verdict
 *
 * Return: a static string, "unknown" for out-of-range values.
 */
const char *pdma_copy_status_str(enum pdma_copy_status status)
{
	if ((unsigned int)status >= PDMA_COPY_NR_STATUS)
		return "unknown";
	return pdma_copy_status_names[status];
}
