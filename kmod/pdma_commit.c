// SPDX-License-Identifier: GPL-2.0
/*
 * pdma core: the commit protocol and format, as specified in the DOC block
 * of <linux/pdma_table.h>, with commits that cost O(1) in the capacity.
 *
 * Format writes copy A with generation 1 and zeroes copy B; copy B gets
 * its first valid contents with the first mutation. A commit writes only
 * the slots the inactive copy lacks, and keeps the copy's CRC current as
 * slots change instead of recomputing it.
 */

#include "pdma_shim.h"
#include "pdma_core.h"
#include <linux/pdma_table.h>

/*
 * The running CRC: CRC32C is linear, so changing bytes changes the CRC by
 * the (zero-start) CRC of the change, shifted past the bytes that follow
 * it.
 */

/* Apply a tabulated shift (one CRC per input bit) to @crc. */
static u32 pdma_shift_apply(const u32 *tab, u32 crc)
{
	u32 r = 0;
	int i;

	for (i = 0; crc; i++, crc >>= 1)
		if (crc & 1)
			r ^= tab[i];
	return r;
}

/*
 * The shift tables depend on the slot size alone, so every core shares
 * them: [j][i] is bit i of a CRC shifted past 2^j slots, and
 * pdma_shift1_tab[j][b] byte j of a CRC, of value b, shifted past one.
 */
static u32 pdma_shift_tab[PDMA_SHIFT_ROWS][32];
static u32 pdma_shift1_tab[4][256];
static bool pdma_shift_ready;

/**
 * pdma_shift_init() - tabulate CRC shifts by whole slots, once
 *
 * A commit moves CRCs past the slots that follow a change. A shift is
 * linear in the CRC, so a shift by 2^j slots is 32 words, the shift of
 * each CRC bit: the first row is the CRC32C of one zero slot started from
 * that bit (a raw CRC over zeros is exactly the shift; 7.x removed
 * __crc32c_le_shift()), each next one by applying the previous twice.
 * Shifting past k slots then costs one table application per set bit of
 * k, whatever the capacity.
 * Built by the first pdma_core_create(), like the userspace CRC32C
 * tables, so that call must not race with any other use of the core.
 */
void pdma_shift_init(void)
{
	static const struct pdma_table_entry zero;
	int i, j;

	if (pdma_shift_ready)
		return;
	for (i = 0; i < 32; i++)
		pdma_shift_tab[0][i] = pdma_crc32c(1U << i, &zero, sizeof(zero));
	for (j = 1; j < PDMA_SHIFT_ROWS; j++)
		for (i = 0; i < 32; i++)
			pdma_shift_tab[j][i] = pdma_shift_apply(pdma_shift_tab[j - 1],
								pdma_shift_tab[j - 1][i]);
	for (j = 0; j < 4; j++)
		for (i = 0; i < 256; i++)
			pdma_shift1_tab[j][i] = pdma_shift_apply(pdma_shift_tab[0],
								 (u32)i << (8 * j));
	pdma_shift_ready = true;
}

/* Shift a zero-start CRC past one slot, a byte of it at a time. */
static inline u32 pdma_shift_one(u32 crc)
{
	return pdma_shift1_tab[0][crc & 0xff] ^
	       pdma_shift1_tab[1][(crc >> 8) & 0xff] ^
	       pdma_shift1_tab[2][(crc >> 16) & 0xff] ^
	       pdma_shift1_tab[3][crc >> 24];
}

/* Shift a zero-start CRC past @k whole slots. */
static u32 pdma_shift_slots(u32 crc, u32 k)
{
	int j;

	for (j = 0; k; j++, k >>= 1)
		if (k & 1)
			crc = pdma_shift_apply(pdma_shift_tab[j], crc);
	return crc;
}

/* What a slot adds to a zero-start CRC of itself alone. */
static u32 pdma_slot_crc0(const struct pdma_core *core, u32 slot)
{
	return pdma_crc32c(0, &core->img[0].ent[slot],
			   sizeof(struct pdma_table_entry));
}

/**
 * pdma_slot_begin() - note a slot's CRC before a change
 * @core: live core
 * @slot: slot about to change; pdma_slot_end() follows the change
 *
 * Also lists the slot for the next commit, so a commit costs O(1) in the
 * capacity: it writes only the slots that differ from the inactive copy.
 */
void pdma_slot_begin(struct pdma_core *core, u32 slot)
{
	u32 *n = &core->nr_dirty[0];

	core->slot_crc0 = pdma_slot_crc0(core, slot);
	if (*n == PDMA_DIRTY_ALL)
		return;
	if (*n == PDMA_DIRTY_MAX)
		*n = PDMA_DIRTY_ALL;
	else
		core->dirty[0][(*n)++] = slot;
}

/**
 * pdma_slot_end() - fold a changed slot into the running CRC
 * @core: live core
 * @slot: slot given to pdma_slot_begin()
 *
 * One shift per change: the CRC of the difference, moved past the bytes
 * that follow the slot.
 */
void pdma_slot_end(struct pdma_core *core, u32 slot)
{
	core->img_crc ^= pdma_shift_slots(core->slot_crc0 ^
					  pdma_slot_crc0(core, slot),
					  core->capacity - 1 - slot);
}

/**
 * pdma_crc_full() - raw CRC32C of the shadow image, computed from scratch
 * @core: core
 *
 * With the header as last committed, like @core->img_crc.
 *
 * Return: the raw CRC state.
 */
u32 pdma_crc_full(const struct pdma_core *core)
{
	u32 crc = pdma_crc32c(~0U, &core->hdr_last, sizeof(core->hdr_last));

	return pdma_crc32c(crc, core->img[0].ent,
			   pdma_img_bytes(core) - sizeof(core->hdr_last));
}

/* Zero-start CRC of a slot-sized change of the state field alone. */
static u32 pdma_state_delta(u32 from, u32 to)
{
	struct pdma_table_entry d;

	memset(&d, 0, sizeof(d));
	d.state = cpu_to_le32(from ^ to);
	return pdma_crc32c(0, &d, sizeof(d));
}

/**
 * pdma_preserve_all() - turn every allocated or claimed slot preserved
 * @core: live core
 *
 * For adoption. The running CRC follows without a pass over the image:
 * CRC32C is linear, so the change is the CRC of the state-field changes
 * alone, one of two fixed slot-sized values per changed slot, gathered
 * Horner-style with one shift per slot (four table lookups). The next
 * commit writes every slot.
 */
void pdma_preserve_all(struct pdma_core *core)
{
	const __le32 alloc = cpu_to_le32(PDMA_ENTRY_ALLOCATED);
	const __le32 claim = cpu_to_le32(PDMA_ENTRY_CLAIMED);
	const u32 d_alloc = pdma_state_delta(PDMA_ENTRY_ALLOCATED,
					     PDMA_ENTRY_PRESERVED);
	const u32 d_claim = pdma_state_delta(PDMA_ENTRY_CLAIMED,
					     PDMA_ENTRY_PRESERVED);
	struct pdma_table_entry *e = core->img[0].ent;
	u32 i, acc = 0;

	for (i = 0; i < core->capacity; i++, e++) {
		if (!(i & PDMA_RESCHED_MASK))
			cond_resched();
		acc = pdma_shift_one(acc);
		if (e->state == alloc)
			acc ^= d_alloc;
		else if (e->state == claim)
			acc ^= d_claim;
		else
			continue;
		e->state = cpu_to_le32(PDMA_ENTRY_PRESERVED);
	}
	core->img_crc ^= acc;
	core->nr_dirty[0] = PDMA_DIRTY_ALL;
}

/* Write the slots listed in @core->dirty[k] to the copy at @dst. */
static void pdma_write_dirty(struct pdma_core *core, u64 dst, int k)
{
	const size_t esz = sizeof(struct pdma_table_entry);
	u32 i, slot;

	for (i = 0; i < core->nr_dirty[k]; i++) {
		slot = core->dirty[k][i];
		core->ops->write(core->ctx, dst + sizeof(struct pdma_table_header) +
				 (u64)slot * esz, &core->img[0].ent[slot], esz);
	}
}

/**
 * pdma_commit() - write the shadow image as the new current copy
 * @core: live core whose shadow holds the mutated state
 *
 * Bumps the generation and brings the inactive copy up to date: the
 * slots changed by the previous commit (which went to the other copy) and
 * by this one, then the header with a zero CRC, then the CRC, as separate
 * stores. The CRC comes from the running value kept by pdma_slot_begin()
 * and pdma_slot_end(), so a commit costs O(1) in the capacity. Until the
 * last store lands the inactive copy fails its CRC and the current one
 * still wins at load, wherever a crash tears the sequence.
 */
void pdma_commit(struct pdma_core *core)
{
	struct pdma_table_header *h = core->img[0].hdr;
	u64 dst = (u64)(core->cur ^ 1) * core->copy_size;
	u32 crc;

	h->generation = cpu_to_le64(le64_to_cpu(h->generation) + 1);
	h->nr_entries = cpu_to_le32(core->nr_used);
	h->crc32c = 0;
	core->img_crc ^= pdma_shift_slots(pdma_crc32c(0, &core->hdr_last, sizeof(*h)) ^
					  pdma_crc32c(0, h, sizeof(*h)), core->capacity);
	crc = ~core->img_crc;
	if (core->nr_dirty[0] == PDMA_DIRTY_ALL || core->nr_dirty[1] == PDMA_DIRTY_ALL) {
		core->ops->write(core->ctx, dst + sizeof(*h), core->img[0].ent,
				 pdma_img_bytes(core) - sizeof(*h));
	} else {
		pdma_write_dirty(core, dst, 1);
		pdma_write_dirty(core, dst, 0);
	}
	core->ops->write(core->ctx, dst, h, sizeof(*h));
	memcpy(&core->hdr_last, h, sizeof(*h));
	h->crc32c = cpu_to_le32(crc);
	core->ops->write(core->ctx,
			 dst + offsetof(struct pdma_table_header, crc32c),
			 &h->crc32c, sizeof(h->crc32c));
	core->nr_dirty[1] = core->nr_dirty[0];
	memcpy(core->dirty[1], core->dirty[0], sizeof(core->dirty[0]));
	core->nr_dirty[0] = 0;
	core->cur ^= 1;
}

/* Store zeroes, using the scratch image as the source. */
static void pdma_write_zero(struct pdma_core *core, u64 off, u64 len)
{
	u64 chunk = pdma_img_bytes(core), n;

	memset(core->img[1].hdr, 0, chunk);
	for (; len; off += n, len -= n) {
		n = len < chunk ? len : chunk;
		core->ops->write(core->ctx, off, core->img[1].hdr, n);
	}
}

/**
 * pdma_core_format() - write a fresh, empty table
 * @core: core with a store hook
 *
 * Meant for %PDMA_LOAD_EMPTY. On a read-only core it is the explicit
 * override that discards the table found in the region; the core never
 * does that on its own.
 *
 * Copy A gets generation 1, copy B is zeroed and gets its first contents
 * with the first mutation. Format is crash-safe too: both magics are
 * cleared first and A's magic is stored last, after its CRC, so a crash
 * leaves either the old contents, an empty region (format again) or the
 * new table, never a table that loads as corrupt.
 *
 * Return: 0, or -EROFS for an inspection-only core.
 */
int pdma_core_format(struct pdma_core *core)
{
	struct pdma_table_header *h = core->img[0].hdr;
	const size_t magic = sizeof(h->magic);
	u32 i;

	if (!core->ops)
		return -EROFS;
	memset(h, 0, pdma_img_bytes(core));
	h->magic = cpu_to_le64(PDMA_TABLE_MAGIC);
	h->version = cpu_to_le32(PDMA_TABLE_VERSION);
	h->header_size = cpu_to_le32(sizeof(*h));
	h->entry_size = cpu_to_le32(sizeof(struct pdma_table_entry));
	h->capacity = cpu_to_le32(core->capacity);
	h->region_base = cpu_to_le64(core->base);
	h->region_size = cpu_to_le64(core->size);
	h->data_offset = cpu_to_le64(core->data_offset);
	h->generation = cpu_to_le64(1);
	core->img_crc = pdma_crc32c(~0U, h, pdma_img_bytes(core));
	memcpy(&core->hdr_last, h, sizeof(*h));
	core->nr_dirty[0] = 0;
	core->nr_dirty[1] = PDMA_DIRTY_ALL;
	h->crc32c = cpu_to_le32(~core->img_crc);
	pdma_names_clear(core, &core->names[0]);
	core->nr_used = 0;
	core->reserved_bytes = 0;
	core->nr_free_slots = core->capacity;
	for (i = 0; i < core->capacity; i++)
		core->free_slots[i] = core->capacity - 1 - i;
	pdma_extents_init(&core->ext, core->pool, core->capacity + 1,
			  core->base, core->data_offset, core->size);

	pdma_write_zero(core, 0, magic);
	pdma_write_zero(core, core->copy_size, core->copy_size);
	pdma_write_zero(core, pdma_img_bytes(core),
			core->copy_size - pdma_img_bytes(core));
	core->ops->write(core->ctx, sizeof(*h), core->img[0].ent,
			 pdma_img_bytes(core) - sizeof(*h));
	core->ops->write(core->ctx, magic, (const u8 *)h + magic,
			 sizeof(*h) - magic);
	core->ops->write(core->ctx, 0, h, magic);
	core->cur = 0;
	core->state = PDMA_CORE_LIVE;
	return 0;
}
