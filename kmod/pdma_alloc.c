// SPDX-License-Identifier: GPL-2.0
/*
 * Free-extent allocator of the pdma data area.
 *
 * Free space is kept as maximal extents (no two of them adjacent) in one
 * augmented rbtree keyed by start, the way mm/vmalloc.c keeps its free
 * vmap areas: every node also holds the length of the longest extent in
 * its subtree (@subtree_max, kept by the RB_DECLARE_CALLBACKS_MAX
 * callbacks), so a descent skips every subtree that has nothing long
 * enough.
 *
 * With n allocations there are at most n + 1 gaps between them, so a pool
 * of capacity + 1 nodes, allocated once, can never run out: alloc and free
 * never allocate memory and cannot fail half-way.
 *
 * Policy: address-ordered first fit, the lowest extent that holds the
 * request once aligned. It is what the tree answers in O(log n), as for
 * vmalloc; best fit would need a second index by size, the second tree
 * this replaced. Address-ordered first fit fragments about as little as
 * best fit on real traces (Wilson et al., "Dynamic Storage Allocation: A
 * Survey and Critical Review", 1995), keeps long-lived buffers packed low
 * and leaves the largest extent at the top of the range.
 *
 * Cost, n = number of free extents:
 *
 * - alloc: O(log n + k). k counts the extents long enough for @size that
 *   alignment pushed past their end, all visited in address order before
 *   the one that fits; k = 0 for page alignment.
 * - free: O(log n), coalescing with the neighbours found on the way down.
 * - rebuild after a table load (append in offset order, then seal): O(n)
 *   amortised, every node linked at the rightmost leaf.
 */

#include "pdma_shim.h"
#include "pdma_core.h"

static inline struct pdma_extent *pdma_ext(const struct rb_node *n)
{
	return rb_entry(n, struct pdma_extent, rb);
}

static inline u64 pdma_ext_len(const struct pdma_extent *e)
{
	return e->len;
}

RB_DECLARE_CALLBACKS_MAX(static, pdma_ext_cb, struct pdma_extent, rb, u64,
			 subtree_max, pdma_ext_len)

/* Longest extent in the subtree at @n, 0 for an empty one. */
static inline u64 pdma_max(const struct rb_node *n)
{
	return n ? pdma_ext(n)->subtree_max : 0;
}

static void pdma_insert(struct pdma_extents *ex, struct pdma_extent *e)
{
	struct rb_node **link = &ex->root.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (e->start < pdma_ext(parent)->start)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	e->subtree_max = e->len;
	rb_link_node(&e->rb, parent, link);
	/* The new leaf may raise the maxima above it, before rebalancing. */
	pdma_ext_cb_propagate(parent, NULL);
	rb_insert_augmented(&e->rb, &ex->root, &pdma_ext_cb);
}

static struct pdma_extent *pdma_get_node(struct pdma_extents *ex, u64 start,
					 u64 len)
{
	struct pdma_extent *e = ex->free_nodes;

	ex->free_nodes = e->next_free;
	e->start = start;
	e->len = len;
	ex->nr_used++;
	return e;
}

static void pdma_put_node(struct pdma_extents *ex, struct pdma_extent *e)
{
	e->next_free = ex->free_nodes;
	ex->free_nodes = e;
	ex->nr_used--;
}

/**
 * pdma_extents_reset() - forget all extents, before pdma_extents_append()
 * @ex: allocator
 */
void pdma_extents_reset(struct pdma_extents *ex)
{
	ex->root = RB_ROOT;
	ex->free_nodes = NULL;
	ex->nr_used = 0;
	ex->free_bytes = 0;
}

/**
 * pdma_extents_append() - add a free extent during a rebuild
 * @ex:    allocator, reset and not yet sealed
 * @start: page aligned, above the end of the previous extent plus a page
 * @len:   page aligned, non-zero
 *
 * Extents must come in increasing, non-adjacent order; the tree is built
 * by pdma_extents_seal() afterwards.
 *
 * Return: 0, -EINVAL if out of order or range, -ENOMEM if the pool is full.
 */
int pdma_extents_append(struct pdma_extents *ex, u64 start, u64 len)
{
	struct pdma_extent *prev, *e;

	if (!len || (start | len) & (PDMA_PAGE_SIZE - 1) ||
	    start < ex->start || start > ex->end || len > ex->end - start)
		return -EINVAL;
	if (ex->nr_used) {
		prev = &ex->pool[ex->nr_used - 1];
		if (start <= prev->start + prev->len)
			return -EINVAL;
	}
	if (ex->nr_used == ex->nr_pool)
		return -ENOMEM;
	e = &ex->pool[ex->nr_used++];
	e->start = start;
	e->len = len;
	ex->free_bytes += len;
	return 0;
}

/**
 * pdma_extents_seal() - build the tree after pdma_extents_append()
 * @ex: allocator
 *
 * The nodes are already in offset order, so each one is linked as the
 * right child of the previous one (the rightmost leaf stays the last one
 * linked through any rebalancing) and recoloured by rb_insert_color(),
 * O(1) amortised; the subtree maxima then come from one post-order pass.
 * O(n) in all, with no key comparison.
 */
void pdma_extents_seal(struct pdma_extents *ex)
{
	struct rb_node *last = NULL, *n;
	u32 i;

	for (i = 0; i < ex->nr_used; i++) {
		n = &ex->pool[i].rb;
		rb_link_node(n, last, last ? &last->rb_right : &ex->root.rb_node);
		rb_insert_color(n, &ex->root);
		last = n;
	}
	for (n = rb_first_postorder(&ex->root); n; n = rb_next_postorder(n))
		pdma_ext_cb_compute_max(pdma_ext(n), false);
	for (i = ex->nr_pool; i-- > ex->nr_used;) {
		ex->pool[i].next_free = ex->free_nodes;
		ex->free_nodes = &ex->pool[i];
	}
}

/**
 * pdma_extents_init() - set up an allocator with one free extent
 * @ex:      allocator
 * @pool:    @nr_pool nodes; one more than the number of allocations is
 *           always enough
 * @nr_pool: nodes in @pool, at least 1
 * @base:    physical address of offset 0; alignment is applied to it
 * @start:   first free offset, page aligned
 * @end:     end of the managed range, page aligned
 */
void pdma_extents_init(struct pdma_extents *ex, struct pdma_extent *pool,
		       u32 nr_pool, u64 base, u64 start, u64 end)
{
	ex->pool = pool;
	ex->nr_pool = nr_pool;
	ex->base = base;
	ex->start = start;
	ex->end = end;
	pdma_extents_reset(ex);
	if (start < end)
		pdma_extents_append(ex, start, end - start);
	pdma_extents_seal(ex);
}

/* Whether @size fits in @e once its start is aligned; @pad: the slack. */
static bool pdma_fits(const struct pdma_extents *ex,
		      const struct pdma_extent *e, u64 size, u64 align,
		      u64 *pad)
{
	*pad = (0 - (ex->base + e->start)) & (align - 1);
	return *pad < e->len && e->len - *pad >= size;
}

/*
 * The lowest extent that holds @size at @align: an in-order walk that
 * enters only subtrees whose maximum is at least @size. Without padding
 * the first extent it reaches fits, so the walk is one descent.
 */
static struct pdma_extent *pdma_first_fit(const struct pdma_extents *ex,
					  u64 size, u64 align, u64 *pad)
{
	struct rb_node *n = ex->root.rb_node, *child;

	if (pdma_max(n) < size)
		return NULL;
	while (n) {
		if (pdma_max(n->rb_left) >= size) {
			n = n->rb_left;
			continue;
		}
		if (pdma_fits(ex, pdma_ext(n), size, align, pad))
			return pdma_ext(n);
		/* Nothing to the right: back up to the next node in order. */
		while (pdma_max(n->rb_right) < size) {
			do {
				child = n;
				n = rb_parent(n);
				if (!n)
					return NULL;
			} while (n->rb_right == child);
			if (pdma_fits(ex, pdma_ext(n), size, align, pad))
				return pdma_ext(n);
		}
		n = n->rb_right;
	}
	return NULL;
}

/**
 * pdma_extents_alloc() - carve an aligned range out of the free extents
 * @ex:    allocator
 * @size:  bytes, page aligned, non-zero
 * @align: power of two >= 4096, applied to @ex->base + offset
 * @off:   out: offset of the allocation
 *
 * Address-ordered first fit: the lowest extent that holds @size after
 * aligning its start. Head slack and tail stay free.
 *
 * Return: 0, -EINVAL for bad arguments, -ENOMEM if nothing fits. On error
 * nothing changed.
 */
int pdma_extents_alloc(struct pdma_extents *ex, u64 size, u64 align, u64 *off)
{
	struct pdma_extent *e;
	u64 pad, tail;

	if (!size || size & (PDMA_PAGE_SIZE - 1) || align < PDMA_PAGE_SIZE ||
	    align & (align - 1))
		return -EINVAL;
	e = pdma_first_fit(ex, size, align, &pad);
	if (!e)
		return -ENOMEM;
	tail = e->len - pad - size;
	if (pad && tail && !ex->free_nodes)
		return -ENOMEM;

	*off = e->start + pad;
	ex->free_bytes -= size;
	if (!pad && !tail) {
		rb_erase_augmented(&e->rb, &ex->root, &pdma_ext_cb);
		pdma_put_node(ex, e);
		return 0;
	}
	/* Shrinking in place keeps e's position in the tree. */
	if (pad) {
		e->len = pad;
	} else {
		e->start += size;
		e->len = tail;
	}
	pdma_ext_cb_propagate(&e->rb, NULL);
	if (pad && tail)
		pdma_insert(ex, pdma_get_node(ex, *off + size, tail));
	return 0;
}

/**
 * pdma_extents_free() - return a range, coalescing with its neighbours
 * @ex:   allocator
 * @off:  offset, page aligned
 * @size: bytes, page aligned, non-zero
 *
 * Return: 0, -EINVAL if the range is outside the managed range or overlaps
 * free space (a double free), -ENOMEM if the pool is exhausted (cannot
 * happen when the pool is sized as documented). On error nothing changed.
 */
int pdma_extents_free(struct pdma_extents *ex, u64 off, u64 size)
{
	struct rb_node *n = ex->root.rb_node;
	struct pdma_extent *p = NULL, *s = NULL, *e;
	bool join_p, join_s;

	if (!size || (off | size) & (PDMA_PAGE_SIZE - 1) || off < ex->start ||
	    off > ex->end || size > ex->end - off)
		return -EINVAL;
	/* p: the last extent below @off, s: the first at or above it. */
	while (n) {
		e = pdma_ext(n);
		if (e->start < off) {
			p = e;
			n = n->rb_right;
		} else {
			s = e;
			n = n->rb_left;
		}
	}
	if ((p && p->start + p->len > off) || (s && off + size > s->start))
		return -EINVAL;
	join_p = p && p->start + p->len == off;
	join_s = s && off + size == s->start;
	if (!join_p && !join_s && !ex->free_nodes)
		return -ENOMEM;

	ex->free_bytes += size;
	if (join_p && join_s) {
		/* Erase s first, so that the tree's maxima stay exact. */
		size += s->len;
		rb_erase_augmented(&s->rb, &ex->root, &pdma_ext_cb);
		pdma_put_node(ex, s);
	}
	if (join_p) {
		e = p;
		e->len += size;
	} else if (join_s) {
		/* Moving the start down keeps s's place in the tree. */
		e = s;
		e->start = off;
		e->len += size;
	} else {
		pdma_insert(ex, pdma_get_node(ex, off, size));
		return 0;
	}
	pdma_ext_cb_propagate(&e->rb, NULL);
	return 0;
}

/**
 * pdma_extents_largest() - length of the largest free extent
 * @ex: allocator
 *
 * Return: bytes, 0 if nothing is free. O(1): the root's subtree maximum.
 */
u64 pdma_extents_largest(const struct pdma_extents *ex)
{
	return pdma_max(ex->root.rb_node);
}

/**
 * pdma_extents_next() - first free extent starting at or after @pos
 * @ex:    allocator
 * @pos:   offset to search from
 * @start: out: its start
 * @len:   out: its length
 *
 * Return: 0, or -ENOENT if there is none. O(log n).
 */
int pdma_extents_next(const struct pdma_extents *ex, u64 pos, u64 *start,
		      u64 *len)
{
	struct rb_node *n = ex->root.rb_node;
	struct pdma_extent *best = NULL;

	while (n) {
		if (pdma_ext(n)->start >= pos) {
			best = pdma_ext(n);
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	if (!best)
		return -ENOENT;
	*start = best->start;
	*len = best->len;
	return 0;
}

/*
 * Black height of a well-formed subtree (1 for an empty one), or -1: pool
 * nodes, parent links, no red node under a red one or at the root, the
 * same number of black nodes on every path, exact subtree maxima.
 */
static int pdma_verify_node(const struct pdma_extents *ex,
			    const struct rb_node *n,
			    const struct rb_node *parent, u32 *count)
{
	const struct pdma_extent *e;
	int l, r;
	u64 max;

	if (!n)
		return 1;
	e = pdma_ext(n);
	if (++*count > ex->nr_pool || e < ex->pool ||
	    e >= ex->pool + ex->nr_pool || rb_parent(n) != parent ||
	    (rb_is_red(n) && (!parent || rb_is_red(parent))))
		return -1;
	l = pdma_verify_node(ex, n->rb_left, n, count);
	r = pdma_verify_node(ex, n->rb_right, n, count);
	if (l < 0 || l != r)
		return -1;
	max = e->len;
	if (pdma_max(n->rb_left) > max)
		max = pdma_max(n->rb_left);
	if (pdma_max(n->rb_right) > max)
		max = pdma_max(n->rb_right);
	if (e->subtree_max != max)
		return -1;
	return l + rb_is_black(n);
}

/**
 * pdma_extents_verify() - check every invariant of the allocator
 * @ex: allocator
 *
 * For tests and fuzzers: the rbtree invariants (colours, black height,
 * parent links), every subtree maximum, the node count, and extents page
 * aligned, in range, in order, maximal (neither adjacent nor overlapping)
 * and summing to @ex->free_bytes. O(n).
 *
 * Return: 0 or -EUCLEAN.
 */
int pdma_extents_verify(const struct pdma_extents *ex)
{
	const struct pdma_extent *e, *prev = NULL;
	const struct rb_node *n;
	u64 sum = 0;
	u32 count = 0;

	if (pdma_verify_node(ex, ex->root.rb_node, NULL, &count) < 0 ||
	    count != ex->nr_used)
		return -EUCLEAN;
	for (n = rb_first(&ex->root); n; n = rb_next(n)) {
		e = pdma_ext(n);
		if (!e->len || (e->start | e->len) & (PDMA_PAGE_SIZE - 1) ||
		    e->start < ex->start || e->start > ex->end ||
		    e->len > ex->end - e->start)
			return -EUCLEAN;
		if (prev && prev->start + prev->len >= e->start)
			return -EUCLEAN;
		prev = e;
		sum += e->len;
	}
	return sum == ex->free_bytes ? 0 : -EUCLEAN;
}
