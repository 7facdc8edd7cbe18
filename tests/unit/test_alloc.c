// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pdma core's allocator: sizes, alignments, flags and
 * names, address-ordered first fit, coalescing, exhaustion and capacity, errors that change
 * nothing, claims and adoption. Each test checks one behaviour; its
 * "Expect" sentence is in the table at the bottom.
 */
#include <string.h>
#include "core_fixture.h"

/* Free extents in address order. */
static u32 free_extents(struct pdma_core *core, u64 *off, u64 *len, u32 max)
{
	u64 cursor = 0, o, l;
	u32 n = 0;

	while (!pdma_core_next_free(core, &cursor, &o, &l)) {
		if (n < max) {
			off[n] = o;
			len[n] = l;
		}
		n++;
	}
	return n;
}

static int alloc_simple(void)
{
	struct pdma_core_entry e, l;
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, pdma_core_alloc(R.core, N("ring"), 1, 0, PDMA_ALLOC_ZERO,
				     &e));
	ASSERT_EQ(0, strcmp(e.name, "ring"));
	ASSERT_EQ(R.lay.data_offset, e.offset);
	ASSERT_EQ(4096, e.size);
	ASSERT_EQ(4096, e.align);
	ASSERT_EQ(2, e.create_gen);
	ASSERT_EQ(PDMA_ALLOC_ZERO, e.flags);
	ASSERT_EQ(PDMA_ENTRY_ALLOCATED, e.state);
	ASSERT_EQ(0, e.id);
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("ring"), &l));
	ASSERT_TRUE(entry_eq(&e, &l));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(2, info.generation);
	ASSERT_EQ(1, info.nr_entries);
	ASSERT_EQ(data_size() - 4096, info.free_bytes);
	ASSERT_EQ(1, info.current_copy);
	/* Rounded up to whole pages. */
	ASSERT_EQ(0, alloc(N("odd"), 4097, 0, &e));
	ASSERT_EQ(8192, e.size);
	ASSERT_EQ(R.lay.data_offset + 4096, e.offset);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int alloc_rejects_bad_size(void)
{
	struct pdma_core_entry e;

	CHECK(setup());
	R.stores = 0;
	ASSERT_EQ(-EINVAL, alloc(N("a"), 0, 0, NULL));
	ASSERT_EQ(-EINVAL, alloc(N("a"), U64_MAX, 0, NULL));
	ASSERT_EQ(-EINVAL, alloc(N("a"), U64_MAX - 4094, 0, NULL));
	ASSERT_EQ(-EINVAL, alloc(N("a"), data_size() + 1, 0, NULL));
	ASSERT_EQ(0, R.stores);
	ASSERT_EQ(0, alloc(N("a"), data_size(), 0, &e));
	ASSERT_EQ(R.lay.data_offset, e.offset);
	region_fini(&R);
	return 0;
}

static int alloc_rejects_bad_align(void)
{
	static const u64 bad[] = { 1, 3, 2048, 4097, 6144, 2 * SZ_1G,
				   1ULL << 63 };
	unsigned int i;

	CHECK(setup());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(-EINVAL, alloc(N("a"), 4096, bad[i], NULL));
	ASSERT_EQ(0, alloc(N("a"), 4096, 4096, NULL));
	ASSERT_EQ(0, alloc(N("b"), 4096, SZ_1M, NULL));
	region_fini(&R);
	return 0;
}

static int alloc_rejects_bad_flags(void)
{
	CHECK(setup());
	ASSERT_EQ(-EINVAL, pdma_core_alloc(R.core, N("a"), 4096, 0, 2, NULL));
	ASSERT_EQ(-EINVAL, pdma_core_alloc(R.core, N("a"), 4096, 0,
					   0x80000000U, NULL));
	ASSERT_EQ(0, pdma_core_alloc(R.core, N("a"), 4096, 0,
				     PDMA_ALLOC_FLAGS_ALL, NULL));
	region_fini(&R);
	return 0;
}

static int names_rejected(void)
{
	char name[PDMA_NAME_MAX];
	struct pdma_core_entry e;

	CHECK(setup());
	memset(name, 0, sizeof(name));
	ASSERT_EQ(-EINVAL, alloc(name, 4096, 0, NULL));	/* empty */
	memset(name, 'x', sizeof(name));
	ASSERT_EQ(-EINVAL, alloc(name, 4096, 0, NULL));	/* unterminated */
	memset(name, 0, sizeof(name));
	strcpy(name, "abc");
	name[10] = 'z';
	ASSERT_EQ(-EINVAL, alloc(name, 4096, 0, NULL));	/* junk after NUL */
	name[10] = 0;
	name[PDMA_NAME_MAX - 1] = 1;
	ASSERT_EQ(-EINVAL, alloc(name, 4096, 0, NULL));
	ASSERT_EQ(-EINVAL, pdma_core_free(R.core, name));
	ASSERT_EQ(-EINVAL, pdma_core_claim(R.core, name, NULL));
	ASSERT_EQ(-EINVAL, pdma_core_lookup(R.core, name, &e));
	/* The longest name: 63 characters and the NUL. */
	memset(name, 'y', sizeof(name));
	name[PDMA_NAME_MAX - 1] = 0;
	ASSERT_EQ(0, alloc(name, 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_lookup(R.core, name, &e));
	region_fini(&R);
	return 0;
}

static int names_duplicate(void)
{
	CHECK(setup());
	ASSERT_EQ(0, alloc(N("dup"), 4096, 0, NULL));
	R.stores = 0;
	ASSERT_EQ(-EEXIST, alloc(N("dup"), 8192, 0, NULL));
	ASSERT_EQ(0, R.stores);
	ASSERT_EQ(0, pdma_core_free(R.core, N("dup")));
	ASSERT_EQ(0, alloc(N("dup"), 8192, 0, NULL));
	region_fini(&R);
	return 0;
}

static int errors_change_nothing(void)
{
	struct snapshot a, b;
	int i, ret;

	CHECK(setup_cap(2));
	ASSERT_EQ(0, alloc(N("x"), SZ_1M, 0, NULL));
	CHECK(snapshot_take(R.core, &a));
	R.stores = 0;
	for (i = 0; i < 6; i++) {
		switch (i) {
		case 0:
			ret = alloc(N("x"), 4096, 0, NULL) + EEXIST;
			break;
		case 1:
			ret = alloc(N("y"), data_size(), 0, NULL) + ENOMEM;
			break;
		case 2:
			ret = alloc(N("y"), 4096, 3, NULL) + EINVAL;
			break;
		case 3:
			ret = pdma_core_free(R.core, N("nope")) + ENOENT;
			break;
		case 4:
			ret = pdma_core_claim(R.core, N("nope"), NULL) + ENOENT;
			break;
		default:
			ASSERT_EQ(0, alloc(N("y"), 4096, 0, NULL));
			snapshot_free(&a);
			CHECK(snapshot_take(R.core, &a));
			R.stores = 0;
			ret = alloc(N("z"), 4096, 0, NULL) + ENOSPC;
			break;
		}
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, R.stores);
		CHECK(snapshot_take(R.core, &b));
		CHECK(snapshot_cmp(&a, &b, true));
		snapshot_free(&b);
		ASSERT_EQ(0, pdma_core_verify(R.core));
	}
	snapshot_free(&a);
	region_fini(&R);
	return 0;
}

static int alloc_physical_alignment(void)
{
	u64 base = SZ_1G + 3 * SZ_4K;	/* aligned to 4K only */
	struct pdma_core_entry e;

	CHECK(region_init(&R, base, 4 * SZ_1G, CAP));
	CHECK(region_format(&R));
	ASSERT_EQ(0, alloc(N("small"), 4096, 0, &e));
	ASSERT_EQ(R.lay.data_offset, e.offset);
	ASSERT_EQ(0, alloc(N("2m"), 4096, SZ_2M, &e));
	ASSERT_EQ(0, (base + e.offset) % SZ_2M);
	ASSERT_NE(0, e.offset % SZ_2M);
	ASSERT_EQ(0, alloc(N("1g"), SZ_1M, SZ_1G, &e));
	ASSERT_EQ(0, (base + e.offset) % SZ_1G);
	ASSERT_EQ(2 * SZ_1G - base, e.offset);
	ASSERT_EQ(SZ_1G, e.align);
	/* Cover the 3G, 4G and 5G boundaries: none is left. */
	ASSERT_EQ(0, alloc(N("1g-b"), 2 * SZ_1G + 8192, SZ_1G, &e));
	ASSERT_EQ(3 * SZ_1G - base, e.offset);
	ASSERT_EQ(-ENOMEM, alloc(N("1g-c"), 4096, SZ_1G, NULL));
	/* Head slack stays free and is used by later allocations. */
	ASSERT_EQ(0, alloc(N("fill"), SZ_1M, 0, &e));
	ASSERT_EQ(R.lay.data_offset + 4096, e.offset);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

/* Lay out a..h back to back with the given page counts, then free some. */
static int make_holes(const u64 *pages, int n, const int *free_idx, int nf)
{
	int i;

	for (i = 0; i < n; i++)
		if (alloc(N("h%d", i), pages[i] * 4096, 0, NULL))
			return -1;
	for (i = 0; i < nf; i++)
		if (pdma_core_free(R.core, N("h%d", free_idx[i])))
			return -1;
	return 0;
}

static int alloc_first_fit(void)
{
	/* holes (in pages) at h1 = 3, h3 = 1, h5 = 2 */
	static const u64 pages[] = { 1, 3, 1, 1, 1, 2, 1 };
	static const int fr[] = { 1, 3, 5 };
	struct pdma_core_entry h, e;

	CHECK(setup());
	CHECK(make_holes(pages, 7, fr, 3));
	/* The lowest hole that fits, not the tightest (h5). */
	ASSERT_EQ(0, alloc(N("two"), 2 * 4096, 0, &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("h0"), &h));
	ASSERT_EQ(h.offset + 4096, e.offset);
	ASSERT_EQ(0, alloc(N("one"), 4096, 0, &e));
	ASSERT_EQ(h.offset + 3 * 4096, e.offset);
	/* h3 is too small: h5 is the lowest that fits. */
	ASSERT_EQ(0, alloc(N("again"), 2 * 4096, 0, &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("h4"), &h));
	ASSERT_EQ(h.offset + 4096, e.offset);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int alloc_first_fit_equal_holes_lowest(void)
{
	static const u64 pages[] = { 2, 1, 2, 1, 2, 1 };
	static const int fr[] = { 4, 0, 2 };
	struct pdma_core_entry e;

	CHECK(setup());
	CHECK(make_holes(pages, 6, fr, 3));
	ASSERT_EQ(0, alloc(N("t"), 2 * 4096, 0, &e));
	ASSERT_EQ(R.lay.data_offset, e.offset);
	ASSERT_EQ(0, alloc(N("u"), 2 * 4096, 0, &e));
	ASSERT_EQ(R.lay.data_offset + 3 * 4096, e.offset);
	region_fini(&R);
	return 0;
}

static int alloc_align_walks_to_next_fit(void)
{
	/* base = 4 GiB; data starts at 8 KiB (capacity 16). */
	static const u64 pages[] = { 6, 10, 1, 20, 1 };
	static const int fr[] = { 1, 3 };
	struct pdma_core_entry e;

	/*
	 * Data starts at 8K: holes of 10 pages at 32K and 20 pages at 76K,
	 * the rest free from 160K. Aligned to 64K, the holes keep only 2 and
	 * 7 pages, so an 8-page request goes to 192K in the tail.
	 */
	CHECK(setup());
	ASSERT_EQ(8192, R.lay.data_offset);
	CHECK(make_holes(pages, 5, fr, 2));
	ASSERT_EQ(0, alloc(N("a"), 8 * 4096, SZ_64K, &e));
	ASSERT_EQ(192 * 1024, e.offset);
	/* Aligned to 16K, the 10-page hole at 32K is the lowest fit. */
	ASSERT_EQ(0, alloc(N("b"), 8 * 4096, 4 * 4096, &e));
	ASSERT_EQ(32 * 1024, e.offset);
	/* Its 2 pages left are skipped; the 20-page hole fits at 80K. */
	ASSERT_EQ(0, alloc(N("c"), 8 * 4096, 4 * 4096, &e));
	ASSERT_EQ(80 * 1024, e.offset);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int free_coalesces(void)
{
	u64 off[4], len[4], a;

	CHECK(setup());
	a = R.lay.data_offset;
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("b"), 2 * 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("c"), 3 * 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("d"), 4 * 4096, 0, NULL));
	ASSERT_EQ(1, free_extents(R.core, off, len, 4));
	/* Free the middle: a hole between a and c. */
	ASSERT_EQ(0, pdma_core_free(R.core, N("b")));
	ASSERT_EQ(2, free_extents(R.core, off, len, 4));
	ASSERT_EQ(a + 4096, off[0]);
	ASSERT_EQ(2 * 4096, len[0]);
	/* Free c: merges with the hole before it. */
	ASSERT_EQ(0, pdma_core_free(R.core, N("c")));
	ASSERT_EQ(2, free_extents(R.core, off, len, 4));
	ASSERT_EQ(a + 4096, off[0]);
	ASSERT_EQ(5 * 4096, len[0]);
	/* Free a: merges with the hole after it. */
	ASSERT_EQ(0, pdma_core_free(R.core, N("a")));
	ASSERT_EQ(2, free_extents(R.core, off, len, 4));
	ASSERT_EQ(a, off[0]);
	ASSERT_EQ(6 * 4096, len[0]);
	/* Free d: merges on both sides into one extent. */
	ASSERT_EQ(0, pdma_core_free(R.core, N("d")));
	ASSERT_EQ(1, free_extents(R.core, off, len, 4));
	ASSERT_EQ(a, off[0]);
	ASSERT_EQ(data_size(), len[0]);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int free_coalesces_both_sides(void)
{
	struct pdma_core_info info;
	u64 off[4], len[4];

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("c"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("d"), data_size() - 3 * 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_free(R.core, N("a")));
	ASSERT_EQ(0, pdma_core_free(R.core, N("c")));
	ASSERT_EQ(2, free_extents(R.core, off, len, 4));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(4096, info.largest_free);
	ASSERT_EQ(0, pdma_core_free(R.core, N("b")));
	ASSERT_EQ(1, free_extents(R.core, off, len, 4));
	ASSERT_EQ(R.lay.data_offset, off[0]);
	ASSERT_EQ(3 * 4096, len[0]);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(3 * 4096, info.largest_free);
	ASSERT_EQ(3 * 4096, info.free_bytes);
	region_fini(&R);
	return 0;
}

static int exhaustion_enomem(void)
{
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("all"), data_size(), 0, NULL));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(0, info.free_bytes);
	ASSERT_EQ(0, info.largest_free);
	ASSERT_EQ(-ENOMEM, alloc(N("more"), 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_free(R.core, N("all")));
	ASSERT_EQ(0, alloc(N("more"), 4096, 0, NULL));
	region_fini(&R);
	return 0;
}

static int fragmented_enomem(void)
{
	static const u64 pages[] = { 1, 1, 1, 1, 1 };
	static const int fr[] = { 1, 3 };
	struct pdma_core_info info;

	CHECK(setup());
	CHECK(make_holes(pages, 5, fr, 2));
	ASSERT_EQ(0, alloc(N("rest"), data_size() - 5 * 4096, 0, NULL));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(2 * 4096, info.free_bytes);
	ASSERT_EQ(4096, info.largest_free);
	ASSERT_EQ(-ENOMEM, alloc(N("two"), 2 * 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("one"), 4096, 0, NULL));
	region_fini(&R);
	return 0;
}

static int capacity_enospc(void)
{
	int i;

	CHECK(setup_cap(4));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, alloc(N("c%d", i), 4096, 0, NULL));
	ASSERT_EQ(-ENOSPC, alloc(N("c4"), 4096, 0, NULL));
	/* A duplicate is reported as such even when the table is full. */
	ASSERT_EQ(-EEXIST, alloc(N("c0"), 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_free(R.core, N("c2")));
	ASSERT_EQ(0, alloc(N("c4"), 4096, 0, NULL));
	ASSERT_EQ(-ENOSPC, alloc(N("c5"), 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int unknown_names_enoent(void)
{
	struct pdma_core_entry e;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("known"), 4096, 0, NULL));
	ASSERT_EQ(-ENOENT, pdma_core_free(R.core, N("unknown")));
	ASSERT_EQ(-ENOENT, pdma_core_claim(R.core, N("unknown"), &e));
	ASSERT_EQ(-ENOENT, pdma_core_lookup(R.core, N("unknown"), &e));
	ASSERT_EQ(-ENOENT, pdma_core_lookup(R.core, N("know"), &e));
	ASSERT_EQ(0, pdma_core_free(R.core, N("known")));
	ASSERT_EQ(-ENOENT, pdma_core_free(R.core, N("known")));
	region_fini(&R);
	return 0;
}

static int claim_allocated_is_noop(void)
{
	struct pdma_core_entry e;
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	R.stores = 0;
	ASSERT_EQ(0, pdma_core_claim(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_ALLOCATED, e.state);
	ASSERT_EQ(0, R.stores);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(2, info.generation);
	region_fini(&R);
	return 0;
}

static int adopt_preserves_entries(void)
{
	struct pdma_core_entry e;
	struct pdma_core_info info;
	struct snapshot a, b;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("b"), 8192, 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_adopt(R.core));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(4, info.generation);
	ASSERT_EQ(1, info.adopt_count);
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_PRESERVED, e.state);
	ASSERT_EQ(2, e.create_gen);
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("b"), &e));
	ASSERT_EQ(PDMA_ENTRY_PRESERVED, e.state);
	/* The adopted state is what the next kernel finds. */
	CHECK(snapshot_take(R.core, &a));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	CHECK(snapshot_take(R.core, &b));
	CHECK(snapshot_cmp(&a, &b, true));
	snapshot_free(&a);
	snapshot_free(&b);
	region_fini(&R);
	return 0;
}

static int claim_preserved(void)
{
	struct pdma_core_entry e;
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_adopt(R.core));
	R.stores = 0;
	ASSERT_EQ(0, pdma_core_claim(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_CLAIMED, e.state);
	ASSERT_EQ(3, R.stores);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(4, info.generation);
	/* Claiming again changes nothing. */
	ASSERT_EQ(0, pdma_core_claim(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_CLAIMED, e.state);
	ASSERT_EQ(3, R.stores);
	/* The next adoption makes it preserved again. */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_CLAIMED, e.state);
	ASSERT_EQ(0, pdma_core_adopt(R.core));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("a"), &e));
	ASSERT_EQ(PDMA_ENTRY_PRESERVED, e.state);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(2, info.adopt_count);
	region_fini(&R);
	return 0;
}

static int preserved_never_reused(void)
{
	struct pdma_core_entry e, p;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("keep"), data_size(), 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_adopt(R.core));
	ASSERT_EQ(-ENOMEM, alloc(N("new"), 4096, 0, NULL));
	ASSERT_EQ(-EEXIST, alloc(N("keep"), 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("keep"), &p));
	ASSERT_EQ(0, pdma_core_free(R.core, N("keep")));
	ASSERT_EQ(0, alloc(N("new"), 4096, 0, &e));
	ASSERT_EQ(p.offset, e.offset);
	region_fini(&R);
	return 0;
}

static bool name_ok_ref(const u8 *n)
{
	int i, len = 0;

	while (len < PDMA_NAME_MAX && n[len])
		if (n[len] < 0x20 || n[len++] > 0x7e)
			return false;
	if (!len || len == PDMA_NAME_MAX)
		return false;
	for (i = len; i < PDMA_NAME_MAX; i++)
		if (n[i])
			return false;
	return true;
}

static int name_check_matches_reference(void)
{
	static const u8 bytes[] = { 0x01, 0x1b, 0x1f, 0x20, 0x7e, 0x7f, 0x80,
				    0x81, 0x9f, 0xa0, 0xfe, 0xff, 'a', 'z' };
	const hsiphash_key_t key = { { 42, 43 } };
	u8 n[PDMA_NAME_MAX], m[PDMA_NAME_MAX];
	u32 h1, h2;
	u64 seed = 7;
	int t, len, i;

	for (t = 0; t < 200000; t++) {
		memset(n, 0, sizeof(n));
		len = rnd_next(&seed) % (PDMA_NAME_MAX + 1);
		for (i = 0; i < len; i++)
			n[i] = bytes[rnd_next(&seed) % sizeof(bytes)];
		/* Sometimes a stray byte: a hole in the name or junk after. */
		if (rnd_next(&seed) % 3 == 0)
			n[rnd_next(&seed) % PDMA_NAME_MAX] =
				rnd_next(&seed) % 2 ? 0 : 0x80;
		/* Mostly printable names, so the padding checks get exercised. */
		if (rnd_next(&seed) % 2)
			for (i = 0; i < len; i++)
				if (n[i])
					n[i] = 0x20 + n[i] % 0x5f;
		ASSERT_EQ(name_ok_ref(n), pdma_name_check((char *)n, &key, &h1));
		if (!name_ok_ref(n))
			continue;
		/* Equal names hash alike, wherever they live. */
		memcpy(m, n, sizeof(m));
		ASSERT_TRUE(pdma_name_check((char *)m, &key, &h2));
		ASSERT_EQ(h1, h2);
	}
	return 0;
}

static const struct test_case tests[] = {
	TEST(alloc_simple, "Expect the first allocation at data_offset, size rounded to pages, recorded fields exact."),
	TEST(alloc_rejects_bad_size, "Expect -EINVAL for size 0, rounding overflow and sizes above the data area."),
	TEST(alloc_rejects_bad_align, "Expect -EINVAL for alignments not a power of two or outside [4K, 1G]."),
	TEST(alloc_rejects_bad_flags, "Expect -EINVAL for unknown flags and known flags recorded."),
	TEST(names_rejected, "Expect -EINVAL for empty, unterminated or unpadded names in every call."),
	TEST(name_check_matches_reference, "Expect the word-at-a-time name check to agree with a byte-wise one (printable ASCII, NUL-padded) on 200k names with control, DEL, high-bit, holed and padded bytes."),
	TEST(names_duplicate, "Expect -EEXIST for a duplicate name without any store; the name is reusable after free."),
	TEST(errors_change_nothing, "Expect every failing call to leave the state and the region bytes unchanged."),
	TEST(alloc_physical_alignment, "Expect alignment applied to base + offset for a region based at 1G + 12K."),
	TEST(alloc_first_fit, "Expect the lowest hole that fits to be used, not the tightest."),
	TEST(alloc_first_fit_equal_holes_lowest, "Expect equally sized holes to be used lowest offset first."),
	TEST(alloc_align_walks_to_next_fit, "Expect holes too small once aligned to be skipped for the next one that fits."),
	TEST(free_coalesces, "Expect freed extents to merge with free neighbours, ending as one extent."),
	TEST(free_coalesces_both_sides, "Expect freeing between two holes to merge all three."),
	TEST(exhaustion_enomem, "Expect -ENOMEM when the data area is full, success again after free."),
	TEST(fragmented_enomem, "Expect -ENOMEM when free bytes suffice but no single extent does."),
	TEST(capacity_enospc, "Expect -ENOSPC when all slots are used and -EEXIST to take precedence."),
	TEST(unknown_names_enoent, "Expect -ENOENT from free, claim and lookup of unknown names."),
	TEST(claim_allocated_is_noop, "Expect claiming an allocated entry to succeed without a commit."),
	TEST(adopt_preserves_entries, "Expect adopt to make entries PRESERVED, bump generation and adopt_count, persistently."),
	TEST(claim_preserved, "Expect PRESERVED -> CLAIMED with one commit, then no-ops, then PRESERVED at the next adoption."),
	TEST(preserved_never_reused, "Expect preserved space never handed out until the entry is freed."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_alloc", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
