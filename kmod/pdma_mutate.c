// SPDX-License-Identifier: GPL-2.0
/*
 * pdma core: the operations that change a region: reserve, publish,
 * alloc, free, claim and adopt.
 *
 * A mutation checks everything that can fail first, then edits the
 * shadow image and commits it (pdma_commit.c); committing cannot fail, so
 * a call either fully succeeds or leaves the core exactly as it was. The
 * state, the name hash and the queries are in pdma_core.c.
 */

#include "pdma_shim.h"
#include "pdma_core.h"
#include <linux/pdma_table.h>

static void pdma_names_del(const struct pdma_core *core, struct pdma_names *nm,
			   u32 slot)
{
	u32 *link = &nm->head[nm->hash[slot] & core->bucket_mask];

	while (*link != slot)
		link = &nm->next[*link];
	*link = nm->next[slot];
}

/*
 * A mutation needs a live core with a store hook, and room for one more
 * generation: a table never holds a generation of %PDMA_GEN_LIMIT or
 * more (see pdma_check()), so that no copy can ever wrap back to an old
 * generation and lose the A/B race to a stale copy.
 */
static int pdma_writable(const struct pdma_core *core)
{
	if (core->state != PDMA_CORE_LIVE || !core->ops)
		return -EROFS;
	if (le64_to_cpu(core->img[0].hdr->generation) >= PDMA_GEN_LIMIT - 1)
		return -EOVERFLOW;
	return 0;
}

/* As pdma_find(), for a change: -EROFS first if the core is not writable. */
static s64 pdma_find_writable(const struct pdma_core *core, const char *name)
{
	int ret = pdma_writable(core);

	return ret ? ret : pdma_find(core, name);
}

/* Checks of pdma_core_reserve() that need no allocator: see there. */
static int pdma_alloc_check(const struct pdma_core *core, const char *name,
			    u64 *size, u64 *align, u32 flags)
{
	u32 hv;
	int ret;

	ret = pdma_writable(core);
	if (ret)
		return ret;
	if (!*align)
		*align = PDMA_ALIGN_MIN;
	if (!*size || *size > U64_MAX - (PDMA_PAGE_SIZE - 1) ||
	    *align < PDMA_ALIGN_MIN || *align > PDMA_ALIGN_MAX ||
	    *align & (*align - 1) || flags & ~PDMA_ALLOC_FLAGS_ALL ||
	    !pdma_name_check(name, &core->hash_key, &hv))
		return -EINVAL;
	*size = (*size + PDMA_PAGE_SIZE - 1) & ~(PDMA_PAGE_SIZE - 1);
	if (*size > core->size - core->data_offset)
		return -EINVAL;
	if (pdma_names_find(core, &core->names[0], core->img[0].ent, name,
			    hv) != PDMA_NONE)
		return -EEXIST;
	if (core->nr_used == core->capacity)
		return -ENOSPC;
	return 0;
}

/**
 * pdma_core_reserve() - reserve an extent for a buffer, in memory only
 * @core:  live core
 * @name:  %PDMA_NAME_MAX bytes: printable, NUL-terminated, non-empty,
 *         NUL-padded
 * @size:  in: bytes; out: rounded up to a page
 * @align: in: physical alignment, 0 for a page, else a power of two from
 *         %PDMA_ALIGN_MIN to %PDMA_ALIGN_MAX; out: the alignment used
 * @flags: PDMA_ALLOC_*
 * @off:   out: offset of the reserved extent
 *
 * The extent is taken from the allocator, so that concurrent callers see
 * it as used, but nothing is committed: a crash now leaves no trace in the
 * table. The caller prepares the memory (zeroes it) and then either
 * publishes it with pdma_core_publish() or gives it back with
 * pdma_core_unreserve(). Best fit over the free extents, O(log n).
 *
 * Return: 0; -EROFS if the core is not writable; -EOVERFLOW if the
 * generation is exhausted; -EINVAL for a bad size (0, overflowing or
 * larger than the data area), alignment, flags or name; -EEXIST if the
 * name is taken; -ENOSPC if all slots are used; -ENOMEM if no free extent
 * fits. On error nothing changed.
 */
int pdma_core_reserve(struct pdma_core *core, const char *name, u64 *size,
		      u64 *align, u32 flags, u64 *off)
{
	int ret;

	ret = pdma_alloc_check(core, name, size, align, flags);
	if (ret)
		return ret;
	ret = pdma_extents_alloc(&core->ext, *size, *align, off);
	if (ret)
		return ret;
	core->reserved_bytes += *size;
	return 0;
}

/**
 * pdma_core_unreserve() - give back an extent from pdma_core_reserve()
 * @core: core
 * @off:  offset returned by pdma_core_reserve()
 * @size: size returned by pdma_core_reserve()
 */
void pdma_core_unreserve(struct pdma_core *core, u64 off, u64 size)
{
	core->reserved_bytes -= size;
	pdma_extents_free(&core->ext, off, size);
}

/**
 * pdma_core_publish() - record a reserved extent as a named buffer
 * @core:  core
 * @name:  as for pdma_core_reserve()
 * @off:   offset returned by pdma_core_reserve()
 * @size:  size returned by pdma_core_reserve()
 * @align: alignment returned by pdma_core_reserve()
 * @flags: PDMA_ALLOC_*
 * @out:   out: the new entry; may be NULL
 *
 * Everything pdma_core_reserve() checked is checked again, since other
 * calls may have run in between (the name may now be taken). On success
 * the extent belongs to the entry, in one commit; on error it is still
 * reserved and the caller must unreserve it.
 *
 * Return: 0, or an errno of pdma_core_reserve() other than -ENOMEM.
 */
int pdma_core_publish(struct pdma_core *core, const char *name, u64 off,
		      u64 size, u64 align, u32 flags,
		      struct pdma_core_entry *out)
{
	struct pdma_table_entry *e;
	u64 sz = size, al = align;
	u32 hv, slot;
	int ret;

	ret = pdma_alloc_check(core, name, &sz, &al, flags);
	if (ret)
		return ret;
	pdma_name_check(name, &core->hash_key, &hv);
	core->reserved_bytes -= size;
	slot = core->free_slots[--core->nr_free_slots];
	e = &core->img[0].ent[slot];
	pdma_slot_begin(core, slot);
	memcpy(e->name, name, PDMA_NAME_MAX);
	e->offset = cpu_to_le64(off);
	e->size = cpu_to_le64(size);
	e->align = cpu_to_le64(align);
	e->create_gen = cpu_to_le64(le64_to_cpu(core->img[0].hdr->generation) + 1);
	e->flags = cpu_to_le32(flags);
	e->state = cpu_to_le32(PDMA_ENTRY_ALLOCATED);
	pdma_slot_end(core, slot);
	pdma_names_add(core, &core->names[0], slot, hv);
	core->nr_used++;
	pdma_commit(core);
	if (out)
		pdma_fill(core, slot, out);
	return 0;
}

/**
 * pdma_core_alloc() - allocate and record a named buffer
 * @core:  live core
 * @name:  as for pdma_core_reserve()
 * @size:  bytes, rounded up to a page
 * @align: as for pdma_core_reserve()
 * @flags: PDMA_ALLOC_*, recorded only
 * @out:   out: the new entry; may be NULL
 *
 * pdma_core_reserve() and pdma_core_publish() in one go, for callers that
 * need not prepare the memory first.
 *
 * Return: as pdma_core_reserve(). On error nothing changed.
 */
int pdma_core_alloc(struct pdma_core *core, const char *name, u64 size,
		    u64 align, u32 flags, struct pdma_core_entry *out)
{
	u64 off;
	int ret;

	ret = pdma_core_reserve(core, name, &size, &align, flags, &off);
	if (ret)
		return ret;
	/* Nothing ran in between: publishing cannot fail. */
	return pdma_core_publish(core, name, off, size, align, flags, out);
}

/**
 * pdma_core_free() - free a named buffer, whatever its state
 * @core: live core
 * @name: as for pdma_core_alloc()
 *
 * Return: 0, -EROFS, -EINVAL for a bad name, -ENOENT if there is no such
 * entry. On error nothing changed.
 */
int pdma_core_free(struct pdma_core *core, const char *name)
{
	struct pdma_table_entry *e;
	s64 slot;
	int ret;

	slot = pdma_find_writable(core, name);
	if (slot < 0)
		return slot;
	e = &core->img[0].ent[slot];
	ret = pdma_extents_free(&core->ext, le64_to_cpu(e->offset),
				le64_to_cpu(e->size));
	if (ret)
		return ret;
	pdma_names_del(core, &core->names[0], slot);
	pdma_slot_begin(core, slot);
	memset(e, 0, sizeof(*e));
	pdma_slot_end(core, slot);
	core->free_slots[core->nr_free_slots++] = slot;
	core->nr_used--;
	pdma_commit(core);
	return 0;
}

/**
 * pdma_core_claim() - claim a preserved entry after a kexec
 * @core: live core
 * @name: as for pdma_core_alloc()
 * @out:  out: the entry; may be NULL
 *
 * A preserved entry becomes claimed, with a commit. An allocated or
 * already claimed entry is returned unchanged, without a commit.
 *
 * Return: 0, -EROFS, -EINVAL for a bad name, -ENOENT.
 */
int pdma_core_claim(struct pdma_core *core, const char *name,
		    struct pdma_core_entry *out)
{
	struct pdma_table_entry *e;
	s64 slot;

	slot = pdma_find_writable(core, name);
	if (slot < 0)
		return slot;
	e = &core->img[0].ent[slot];
	if (e->state == cpu_to_le32(PDMA_ENTRY_PRESERVED)) {
		pdma_slot_begin(core, slot);
		e->state = cpu_to_le32(PDMA_ENTRY_CLAIMED);
		pdma_slot_end(core, slot);
		pdma_commit(core);
	}
	if (out)
		pdma_fill(core, slot, out);
	return 0;
}

/**
 * pdma_core_adopt() - take over a loaded table as the new kernel
 * @core: live core, normally right after %PDMA_LOAD_OK
 *
 * Allocated and claimed entries become preserved (their users are gone
 * with the old kernel) and adopt_count goes up, in one commit. Preserved
 * entries stay until claimed or freed; they are never reused silently.
 *
 * Return: 0 or -EROFS.
 */
int pdma_core_adopt(struct pdma_core *core)
{
	struct pdma_table_header *h = core->img[0].hdr;
	int ret;

	ret = pdma_writable(core);
	if (ret)
		return ret;
	pdma_preserve_all(core);
	h->adopt_count = cpu_to_le32(le32_to_cpu(h->adopt_count) + 1);
	pdma_commit(core);
	return 0;
}
