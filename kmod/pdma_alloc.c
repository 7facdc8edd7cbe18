// SPDX-License-Identifier: GPL-2.0
/*
 * Free-extent allocator of the pdma data area.
 *
 * Free space is kept as maximal extents (no two of them adjacent). With n
 * allocations there are at most n + 1 gaps between them, so a pool of
 * capacity + 1 nodes, allocated once, can never run out: alloc and free
 * never allocate memory and cannot fail half-way.
 *
 * Every extent sits in two AVL trees:
 *
 * - by (len, start): best fit is the leftmost extent with len >= size;
 * - by start: on free, the neighbours to coalesce with are the floor and
 *   the ceiling of the freed offset.
 *
 * Cost, n = number of free extents:
 *
 * - alloc: O(log n + k). k counts the extents of len in [size, size +
 *   align - 4K) that alignment pushed past their end; any extent of len >=
 *   size + align - 4K fits, which bounds the walk. k = 0 for page
 *   alignment. Ties go to the lowest offset, so results are deterministic.
 * - free: O(log n).
 * - rebuild after a table load (append in offset order, then seal): O(n).
 *   The by-start tree is built balanced straight from the ordered nodes,
 *   the by-size tree from a stable radix sort of them.
 */

#include "pdma_shim.h"
#include "pdma_core.h"

static inline struct pdma_extent *pdma_ext(const struct pdma_avl *n, int t)
{
	return (struct pdma_extent *)((const char *)(n - t) -
				      offsetof(struct pdma_extent, node));
}

static inline int pdma_avl_h(const struct pdma_avl *n)
{
	return n ? n->height : 0;
}

static void pdma_avl_update(struct pdma_avl *n)
{
	int l = pdma_avl_h(n->left), r = pdma_avl_h(n->right);

	n->height = 1 + (l > r ? l : r);
}

static void pdma_avl_relink(struct pdma_avl **root, struct pdma_avl *parent,
			    struct pdma_avl *old, struct pdma_avl *new)
{
	if (!parent)
		*root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

/* Rotate @x down to the left; its right child takes its place. */
static struct pdma_avl *pdma_avl_rot_left(struct pdma_avl **root,
					  struct pdma_avl *x)
{
	struct pdma_avl *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	pdma_avl_relink(root, x->parent, x, y);
	y->left = x;
	x->parent = y;
	pdma_avl_update(x);
	pdma_avl_update(y);
	return y;
}

static struct pdma_avl *pdma_avl_rot_right(struct pdma_avl **root,
					   struct pdma_avl *x)
{
	struct pdma_avl *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	pdma_avl_relink(root, x->parent, x, y);
	y->right = x;
	x->parent = y;
	pdma_avl_update(x);
	pdma_avl_update(y);
	return y;
}

static struct pdma_avl *pdma_avl_balance(struct pdma_avl **root,
					 struct pdma_avl *n)
{
	int bf = pdma_avl_h(n->left) - pdma_avl_h(n->right);

	if (bf > 1) {
		if (pdma_avl_h(n->left->left) < pdma_avl_h(n->left->right))
			pdma_avl_rot_left(root, n->left);
		return pdma_avl_rot_right(root, n);
	}
	if (bf < -1) {
		if (pdma_avl_h(n->right->right) < pdma_avl_h(n->right->left))
			pdma_avl_rot_right(root, n->right);
		return pdma_avl_rot_left(root, n);
	}
	pdma_avl_update(n);
	return n;
}

/*
 * Rebalance from @n up after an insert below it or an erase below it. Once
 * a subtree is balanced and has its old height nothing above it changes,
 * so the walk stops there: O(1) amortised rotations, O(log n) worst case.
 */
static void pdma_avl_fixup(struct pdma_avl **root, struct pdma_avl *n)
{
	int old;

	while (n) {
		old = n->height;
		n = pdma_avl_balance(root, n);
		if (n->height == old)
			break;
		n = n->parent;
	}
}

static void pdma_avl_erase(struct pdma_avl **root, struct pdma_avl *n)
{
	struct pdma_avl *s, *fix, *c;

	if (n->left && n->right) {
		/* Move the in-order successor into n's place. */
		s = n->right;
		while (s->left)
			s = s->left;
		if (s->parent == n) {
			fix = s;
		} else {
			fix = s->parent;
			fix->left = s->right;
			if (s->right)
				s->right->parent = fix;
			s->right = n->right;
			n->right->parent = s;
		}
		s->left = n->left;
		n->left->parent = s;
		s->height = n->height;
		s->parent = n->parent;
		pdma_avl_relink(root, n->parent, n, s);
		pdma_avl_fixup(root, fix);
		return;
	}
	c = n->left ? n->left : n->right;
	if (c)
		c->parent = n->parent;
	pdma_avl_relink(root, n->parent, n, c);
	pdma_avl_fixup(root, n->parent);
}

static struct pdma_avl *pdma_avl_next(struct pdma_avl *n)
{
	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return n;
	}
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

static struct pdma_avl *pdma_avl_first(struct pdma_avl *n)
{
	while (n && n->left)
		n = n->left;
	return n;
}

/* Tree order: by start, or by (len, start). */
static bool pdma_before(const struct pdma_extent *a,
			const struct pdma_extent *b, int t)
{
	if (t == PDMA_BY_SIZE && a->len != b->len)
		return a->len < b->len;
	return a->start < b->start;
}

static void pdma_insert(struct pdma_extents *ex, struct pdma_extent *e, int t)
{
	struct pdma_avl **link = &ex->root[t], *parent = NULL;
	struct pdma_avl *n = &e->node[t];

	while (*link) {
		parent = *link;
		if (pdma_before(e, pdma_ext(parent, t), t))
			link = &parent->left;
		else
			link = &parent->right;
	}
	n->left = NULL;
	n->right = NULL;
	n->parent = parent;
	n->height = 1;
	*link = n;
	pdma_avl_fixup(&ex->root[t], parent);
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
	ex->root[PDMA_BY_OFF] = NULL;
	ex->root[PDMA_BY_SIZE] = NULL;
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
 * Extents must come in increasing, non-adjacent order; the trees are built
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

/* Balanced subtree of pool nodes items[lo..hi) (identity if !items). */
static struct pdma_avl *pdma_build(struct pdma_extents *ex, const u64 *items,
				   u32 lo, u32 hi, struct pdma_avl *parent,
				   int t)
{
	u32 mid = lo + (hi - lo) / 2;
	struct pdma_avl *n;

	if (lo >= hi)
		return NULL;
	n = &ex->pool[items ? (u32)(items[mid] & PDMA_SORT_IDX_MASK) : mid].node[t];
	n->parent = parent;
	n->left = pdma_build(ex, items, lo, mid, n, t);
	n->right = pdma_build(ex, items, mid + 1, hi, n, t);
	pdma_avl_update(n);
	return n;
}

static unsigned int pdma_bits(u64 v)
{
	unsigned int bits = 0;

	while (v) {
		bits++;
		v >>= 1;
	}
	return bits;
}

/**
 * pdma_extents_seal() - build the trees after pdma_extents_append()
 * @ex: allocator
 *
 * O(n): midpoint recursion over nodes already in offset order gives a
 * balanced by-start tree, and a stable radix sort on the length gives the
 * (len, start) order of the by-size tree.
 */
void pdma_extents_seal(struct pdma_extents *ex)
{
	u64 *a = ex->scratch, *sorted, max = 0;
	u32 i, n = ex->nr_used;

	for (i = n; i < ex->nr_pool; i++) {
		ex->pool[i].next_free = ex->free_nodes;
		ex->free_nodes = &ex->pool[i];
	}
	ex->root[PDMA_BY_OFF] = pdma_build(ex, NULL, 0, n, NULL, PDMA_BY_OFF);
	for (i = 0; i < n; i++) {
		a[i] = (ex->pool[i].len / PDMA_PAGE_SIZE) << PDMA_SORT_IDX_BITS | i;
		if (ex->pool[i].len > max)
			max = ex->pool[i].len;
	}
	sorted = pdma_radix_sort(a, a + ex->nr_pool, n, PDMA_SORT_IDX_BITS,
				 max / PDMA_PAGE_SIZE);
	ex->root[PDMA_BY_SIZE] = pdma_build(ex, sorted, 0, n, NULL,
					    PDMA_BY_SIZE);
}

/**
 * pdma_extents_init() - set up an allocator with one free extent
 * @ex:      allocator
 * @pool:    @nr_pool nodes; one more than the number of allocations is
 *           always enough
 * @scratch: 2 * @nr_pool words for rebuilds
 * @nr_pool: nodes in @pool, at least 1
 * @base:    physical address of offset 0; alignment is applied to it
 * @start:   first free offset, page aligned
 * @end:     end of the managed range, page aligned
 */
void pdma_extents_init(struct pdma_extents *ex, struct pdma_extent *pool,
		       u64 *scratch, u32 nr_pool, u64 base, u64 start, u64 end)
{
	ex->pool = pool;
	ex->scratch = scratch;
	ex->nr_pool = nr_pool;
	ex->base = base;
	ex->start = start;
	ex->end = end;
	pdma_extents_reset(ex);
	if (start < end)
		pdma_extents_append(ex, start, end - start);
	pdma_extents_seal(ex);
}

/**
 * pdma_radix_sort() - stable LSD radix sort of 64-bit words on a bit field
 * @a:       words to sort
 * @tmp:     scratch of @n words
 * @n:       number of words
 * @shift:   lowest bit of the key
 * @max_key: largest key value; its width plus @shift must not exceed 64
 *
 * Keys carry their payload in the bits below @shift. Passes whose digit is
 * the same for every word are skipped. O(n * bits / 8).
 *
 * Return: @a or @tmp, whichever holds the sorted words.
 */
u64 *pdma_radix_sort(u64 *a, u64 *tmp, u32 n, unsigned int shift,
		     u64 max_key)
{
	unsigned int s, end = shift + pdma_bits(max_key);
	u32 count[256], sum, c, i;
	u64 *t;

	for (s = shift; s < end; s += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(a[i] >> s) & 0xff]++;
		if (!n || count[(a[0] >> s) & 0xff] == n)
			continue;
		for (sum = 0, i = 0; i < 256; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(a[i] >> s) & 0xff]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/**
 * pdma_extents_alloc() - carve an aligned range out of the free extents
 * @ex:    allocator
 * @size:  bytes, page aligned, non-zero
 * @align: power of two >= 4096, applied to @ex->base + offset
 * @off:   out: offset of the allocation
 *
 * Best fit: the smallest extent that holds @size after aligning its start,
 * lowest offset on ties. Head slack and tail stay free.
 *
 * Return: 0, -EINVAL for bad arguments, -ENOMEM if nothing fits. On error
 * nothing changed.
 */
int pdma_extents_alloc(struct pdma_extents *ex, u64 size, u64 align, u64 *off)
{
	struct pdma_avl *n = ex->root[PDMA_BY_SIZE], *best = NULL;
	struct pdma_extent *e = NULL, *t;
	u64 pad = 0, tail;

	if (!size || size & (PDMA_PAGE_SIZE - 1) || align < PDMA_PAGE_SIZE ||
	    align & (align - 1))
		return -EINVAL;
	while (n) {
		if (pdma_ext(n, PDMA_BY_SIZE)->len >= size) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	for (n = best; n; n = pdma_avl_next(n)) {
		e = pdma_ext(n, PDMA_BY_SIZE);
		pad = (0 - (ex->base + e->start)) & (align - 1);
		if (pad < e->len && e->len - pad >= size)
			break;
	}
	if (!n)
		return -ENOMEM;
	tail = e->len - pad - size;
	if (pad && tail && !ex->free_nodes)
		return -ENOMEM;

	*off = e->start + pad;
	ex->free_bytes -= size;
	pdma_avl_erase(&ex->root[PDMA_BY_SIZE], &e->node[PDMA_BY_SIZE]);
	if (!pad && !tail) {
		pdma_avl_erase(&ex->root[PDMA_BY_OFF], &e->node[PDMA_BY_OFF]);
		pdma_put_node(ex, e);
		return 0;
	}
	/* Shrinking in place keeps e's position in the by-start tree. */
	if (pad) {
		e->len = pad;
	} else {
		e->start += size;
		e->len = tail;
	}
	pdma_insert(ex, e, PDMA_BY_SIZE);
	if (pad && tail) {
		t = pdma_get_node(ex, *off + size, tail);
		pdma_insert(ex, t, PDMA_BY_OFF);
		pdma_insert(ex, t, PDMA_BY_SIZE);
	}
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
	struct pdma_avl *n = ex->root[PDMA_BY_OFF], *pn = NULL, *sn = NULL;
	struct pdma_extent *p = NULL, *s = NULL, *e;
	bool join_p, join_s;

	if (!size || (off | size) & (PDMA_PAGE_SIZE - 1) || off < ex->start ||
	    off > ex->end || size > ex->end - off)
		return -EINVAL;
	while (n) {
		if (pdma_ext(n, PDMA_BY_OFF)->start < off) {
			pn = n;
			n = n->right;
		} else {
			sn = n;
			n = n->left;
		}
	}
	if (pn)
		p = pdma_ext(pn, PDMA_BY_OFF);
	if (sn)
		s = pdma_ext(sn, PDMA_BY_OFF);
	if ((p && p->start + p->len > off) || (s && off + size > s->start))
		return -EINVAL;
	join_p = p && p->start + p->len == off;
	join_s = s && off + size == s->start;
	if (!join_p && !join_s && !ex->free_nodes)
		return -ENOMEM;

	ex->free_bytes += size;
	if (join_p && join_s) {
		size += s->len;
		pdma_avl_erase(&ex->root[PDMA_BY_OFF], &s->node[PDMA_BY_OFF]);
		pdma_avl_erase(&ex->root[PDMA_BY_SIZE], &s->node[PDMA_BY_SIZE]);
		pdma_put_node(ex, s);
	}
	if (join_p) {
		e = p;
		pdma_avl_erase(&ex->root[PDMA_BY_SIZE], &e->node[PDMA_BY_SIZE]);
		e->len += size;
	} else if (join_s) {
		/* Moving the start down keeps s's place in the by-start tree. */
		e = s;
		pdma_avl_erase(&ex->root[PDMA_BY_SIZE], &e->node[PDMA_BY_SIZE]);
		e->start = off;
		e->len += size;
	} else {
		e = pdma_get_node(ex, off, size);
		pdma_insert(ex, e, PDMA_BY_OFF);
	}
	pdma_insert(ex, e, PDMA_BY_SIZE);
	return 0;
}

/**
 * pdma_extents_largest() - length of the largest free extent
 * @ex: allocator
 *
 * Return: bytes, 0 if nothing is free. O(log n).
 */
u64 pdma_extents_largest(const struct pdma_extents *ex)
{
	struct pdma_avl *n = ex->root[PDMA_BY_SIZE];

	if (!n)
		return 0;
	while (n->right)
		n = n->right;
	return pdma_ext(n, PDMA_BY_SIZE)->len;
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
	struct pdma_avl *n = ex->root[PDMA_BY_OFF], *best = NULL;

	while (n) {
		if (pdma_ext(n, PDMA_BY_OFF)->start >= pos) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	if (!best)
		return -ENOENT;
	*start = pdma_ext(best, PDMA_BY_OFF)->start;
	*len = pdma_ext(best, PDMA_BY_OFF)->len;
	return 0;
}

/* Height of a well-formed subtree, or -1. */
static int pdma_verify_shape(const struct pdma_extents *ex,
			     const struct pdma_avl *n,
			     const struct pdma_avl *parent, int t, u32 *count)
{
	const struct pdma_extent *e;
	int l, r;

	if (!n)
		return 0;
	e = pdma_ext(n, t);
	if (++*count > ex->nr_pool || e < ex->pool ||
	    e >= ex->pool + ex->nr_pool || n->parent != parent)
		return -1;
	l = pdma_verify_shape(ex, n->left, n, t, count);
	r = pdma_verify_shape(ex, n->right, n, t, count);
	if (l < 0 || r < 0 || l - r > 1 || r - l > 1 ||
	    n->height != 1 + (l > r ? l : r))
		return -1;
	return n->height;
}

/**
 * pdma_extents_verify() - check every invariant of the allocator
 * @ex: allocator
 *
 * For tests and fuzzers: AVL shape and heights of both trees, key order,
 * both trees holding the same nodes, extents page aligned, in range,
 * maximal (not adjacent) and summing to @ex->free_bytes. O(n log n).
 *
 * Return: 0 or -EUCLEAN.
 */
int pdma_extents_verify(const struct pdma_extents *ex)
{
	const struct pdma_extent *e, *prev;
	u64 sum = 0, start, len;
	struct pdma_avl *n;
	u32 count;
	int t;

	for (t = 0; t < PDMA_NR_TREES; t++) {
		count = 0;
		if (pdma_verify_shape(ex, ex->root[t], NULL, t, &count) < 0 ||
		    count != ex->nr_used)
			return -EUCLEAN;
		prev = NULL;
		n = pdma_avl_first(ex->root[t]);
		for (; n; n = pdma_avl_next(n)) {
			e = pdma_ext(n, t);
			if (prev && !pdma_before(prev, e, t))
				return -EUCLEAN;
			prev = e;
			if (t != PDMA_BY_OFF) {
				if (pdma_extents_next(ex, e->start, &start, &len) ||
				    start != e->start || len != e->len)
					return -EUCLEAN;
				continue;
			}
			if (!e->len || (e->start | e->len) & (PDMA_PAGE_SIZE - 1) ||
			    e->start < ex->start || e->start > ex->end ||
			    e->len > ex->end - e->start)
				return -EUCLEAN;
			if (pdma_avl_next(n) &&
			    e->start + e->len >= pdma_ext(pdma_avl_next(n), t)->start)
				return -EUCLEAN;
			sum += e->len;
		}
	}
	return sum == ex->free_bytes ? 0 : -EUCLEAN;
}
