// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pdma core: CRC32C, layout, format/load/adopt, the
 * allocator, errors, claim states, read-only handling and per-copy
 * validation. Each test checks one behaviour; its "Expect" sentence is in
 * the table at the bottom.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_common.h"

#define BASE		0x100000000ULL	/* 4 GiB */
#define SIZE		(64 * SZ_1M)
#define CAP		16

static struct region R;

static int setup_cap(u32 cap)
{
	if (region_init(&R, BASE, SIZE, cap) || region_format(&R))
		return -1;
	return 0;
}

static int setup(void)
{
	return setup_cap(CAP);
}

static u64 data_size(void)
{
	return R.size - R.lay.data_offset;
}

static int alloc(const char *name, u64 size, u64 align,
		 struct pdma_core_entry *e)
{
	return pdma_core_alloc(R.core, name, size, align, 0, e);
}

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

static int crc32c_check_value(void)
{
	ASSERT_EQ(0xE3069283U, ~pdma_crc32c(~0U, "123456789", 9));
	ASSERT_EQ(0, ~pdma_crc32c(~0U, NULL, 0));
	return 0;
}

static u32 crc_bitwise(const u8 *p, size_t len)
{
	u32 c = ~0U;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78U & -(c & 1));
	}
	return ~c;
}

static int crc32c_matches_bitwise(void)
{
	u8 buf[512], dst[512];
	u64 seed = 1;
	size_t off, len;
	u32 part;

	for (off = 0; off < sizeof(buf); off++)
		buf[off] = rnd_next(&seed);
	for (off = 0; off < 16; off++) {
		for (len = 0; len < 300; len += 7) {
			ASSERT_EQ(crc_bitwise(buf + off, len),
				  ~pdma_crc32c(~0U, buf + off, len));
			/* Copying while checksumming gives the same. */
			memset(dst, 0, sizeof(dst));
			ASSERT_EQ(crc_bitwise(buf + off, len),
				  ~pdma_crc32c_copy(~0U, dst + 16 - off,
						    buf + off, len));
			ASSERT_EQ(0, memcmp(dst + 16 - off, buf + off, len));
			/* Streaming in two parts gives the same result. */
			part = pdma_crc32c(~0U, buf + off, len / 3);
			ASSERT_EQ(crc_bitwise(buf + off, len),
				  ~pdma_crc32c(part, buf + off + len / 3,
					       len - len / 3));
		}
	}
	return 0;
}

static int layout_values(void)
{
	struct pdma_layout l;

	ASSERT_EQ(0, pdma_core_layout(BASE, SIZE, 1, &l));
	ASSERT_EQ(4096, l.copy_size);
	ASSERT_EQ(8192, l.data_offset);
	ASSERT_EQ(0, pdma_core_layout(BASE, SIZE, 31, &l));
	ASSERT_EQ(4096, l.copy_size);
	ASSERT_EQ(0, pdma_core_layout(BASE, SIZE, 32, &l));
	ASSERT_EQ(8192, l.copy_size);
	ASSERT_EQ(0, pdma_core_layout(BASE, SIZE, 1024, &l));
	ASSERT_EQ(33 * 4096, l.copy_size);
	ASSERT_EQ(66 * 4096, l.data_offset);
	ASSERT_EQ(pdma_table_copy_size(1024), l.copy_size);
	return 0;
}

static int layout_rejects_bad_regions(void)
{
	struct pdma_core_config cfg = { .base = BASE, .size = SIZE,
					.capacity = CAP };
	struct pdma_core *core = NULL;
	struct pdma_layout l;
	u8 table[8192];

	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE + 512, SIZE, 1, &l));
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, SIZE + 512, 1, &l));
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, 0, 1, &l));
	/* Two copies and not a single data page. */
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, 8192, 1, &l));
	ASSERT_EQ(0, pdma_core_layout(BASE, 12288, 1, &l));
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, SIZE, 0, &l));
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, SIZE,
					    PDMA_CORE_MAX_CAPACITY + 1, &l));
	ASSERT_EQ(-EINVAL, pdma_core_layout(BASE, PDMA_CORE_MAX_REGION + 4096,
					    1, &l));
	/* base + size would wrap. */
	ASSERT_EQ(-EINVAL, pdma_core_layout(U64_MAX & ~4095ULL, 1ULL << 40, 1,
					    &l));
	ASSERT_EQ(-EINVAL, pdma_core_create(&cfg, &core));	/* no table */
	cfg.table = table;
	cfg.size = SIZE + 4096 * 3 + 1;
	ASSERT_EQ(-EINVAL, pdma_core_create(&cfg, &core));
	ASSERT_TRUE(core == NULL);
	return 0;
}

static int empty_region_loads_empty(void)
{
	struct pdma_load_report rep;
	struct pdma_core_info info;

	CHECK(region_init(&R, BASE, SIZE, CAP));
	ASSERT_EQ(PDMA_LOAD_EMPTY, region_load(&R, &rep));
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, rep.copy[0].status);
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, rep.copy[1].status);
	ASSERT_EQ(-1, rep.used);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(PDMA_CORE_NEW, info.state);
	ASSERT_EQ(-EROFS, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(-EROFS, pdma_core_adopt(R.core));
	ASSERT_EQ(0, R.stores);
	region_fini(&R);
	return 0;
}

static int format_writes_copy_a(void)
{
	struct pdma_copy_report rep;
	struct pdma_core_info info;
	unsigned long k;

	CHECK(setup());
	pdma_core_info(R.core, &info);
	ASSERT_EQ(PDMA_CORE_LIVE, info.state);
	ASSERT_EQ(1, info.generation);
	ASSERT_EQ(0, info.nr_entries);
	ASSERT_EQ(0, info.adopt_count);
	ASSERT_EQ(CAP, info.capacity);
	ASSERT_EQ(data_size(), info.free_bytes);
	ASSERT_EQ(data_size(), info.largest_free);
	ASSERT_EQ(0, info.current_copy);
	ASSERT_EQ(PDMA_COPY_OK, pdma_core_check_copy(R.core, 0, &rep));
	ASSERT_EQ(1, rep.generation);
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, pdma_core_check_copy(R.core, 1, &rep));
	/* A's magic is cleared first and stored last, after the CRC. */
	ASSERT_EQ(0, R.log[0].off);
	ASSERT_EQ(8, R.log[0].len);
	k = R.stores - 3;
	ASSERT_EQ(sizeof(struct pdma_table_header), R.log[k % 16].off);
	ASSERT_EQ(CAP * 128, R.log[k % 16].len);
	ASSERT_EQ(8, R.log[(k + 1) % 16].off);
	ASSERT_EQ(120, R.log[(k + 1) % 16].len);
	ASSERT_EQ(0, R.log[(k + 2) % 16].off);
	ASSERT_EQ(8, R.log[(k + 2) % 16].len);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int commit_store_order(void)
{
	u64 dst;
	int i;

	CHECK(setup());
	for (i = 0; i < 4; i++) {
		R.stores = 0;
		ASSERT_EQ(0, alloc(N("b%d", i), 4096, 0, NULL));
		ASSERT_EQ(3, R.stores);
		/* Commits alternate: B, A, B, A. */
		dst = (i % 2 ? 0 : 1) * R.lay.copy_size;
		ASSERT_EQ(dst + 128, R.log[0].off);
		ASSERT_EQ(CAP * 128, R.log[0].len);
		ASSERT_EQ(dst, R.log[1].off);
		ASSERT_EQ(128, R.log[1].len);
		ASSERT_EQ(dst + offsetof(struct pdma_table_header, crc32c),
			  R.log[2].off);
		ASSERT_EQ(4, R.log[2].len);
	}
	region_fini(&R);
	return 0;
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

static int alloc_best_fit(void)
{
	/* holes (in pages) at h1 = 3, h3 = 1, h5 = 2 */
	static const u64 pages[] = { 1, 3, 1, 1, 1, 2, 1 };
	static const int fr[] = { 1, 3, 5 };
	struct pdma_core_entry h, e;

	CHECK(setup());
	CHECK(make_holes(pages, 7, fr, 3));
	ASSERT_EQ(0, alloc(N("two"), 2 * 4096, 0, &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("h4"), &h));
	ASSERT_EQ(h.offset + 4096, e.offset);
	ASSERT_EQ(0, alloc(N("one"), 4096, 0, &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("h2"), &h));
	ASSERT_EQ(h.offset + 4096, e.offset);
	ASSERT_EQ(0, alloc(N("three"), 3 * 4096, 0, &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("h0"), &h));
	ASSERT_EQ(h.offset + 4096, e.offset);
	region_fini(&R);
	return 0;
}

static int alloc_best_fit_ties_lowest(void)
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
	/* The 32K of head slack left in the tail is now the best fit. */
	ASSERT_EQ(0, alloc(N("b"), 8 * 4096, 4 * 4096, &e));
	ASSERT_EQ(160 * 1024, e.offset);
	/* Aligned to 16K, the 10-page hole fits the next one. */
	ASSERT_EQ(0, alloc(N("c"), 8 * 4096, 4 * 4096, &e));
	ASSERT_EQ(32 * 1024, e.offset);
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

static int readonly_rejects_mutations(void)
{
	struct pdma_core_entry e;
	struct pdma_core_info info;
	u32 cursor = 0;
	u64 c = 0, o, l;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	hdr_of(&R, 0)->generation ^= cpu_to_le64(1ULL << 40);
	hdr_of(&R, 1)->nr_entries ^= cpu_to_le32(1);
	ASSERT_EQ(PDMA_LOAD_CORRUPT, region_load(&R, NULL));
	R.stores = 0;
	ASSERT_EQ(-EROFS, alloc(N("b"), 4096, 0, NULL));
	ASSERT_EQ(-EROFS, pdma_core_free(R.core, N("a")));
	ASSERT_EQ(-EROFS, pdma_core_claim(R.core, N("a"), NULL));
	ASSERT_EQ(-EROFS, pdma_core_adopt(R.core));
	ASSERT_EQ(0, R.stores);
	ASSERT_EQ(-ENOENT, pdma_core_lookup(R.core, N("a"), &e));
	ASSERT_EQ(-ENOENT, pdma_core_next_entry(R.core, &cursor, &e));
	ASSERT_EQ(-ENOENT, pdma_core_next_free(R.core, &c, &o, &l));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(PDMA_CORE_READONLY, info.state);
	ASSERT_EQ(0, info.nr_entries);
	ASSERT_EQ(-1, info.current_copy);
	/* Format is the explicit override and the only way out. */
	ASSERT_EQ(0, pdma_core_format(R.core));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(1, info.generation);
	region_fini(&R);
	return 0;
}

static int inspection_core_never_writes(void)
{
	struct pdma_core_config cfg;
	struct pdma_core *core;
	struct pdma_core_entry e;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	cfg = (struct pdma_core_config){ .base = BASE, .size = SIZE,
					 .capacity = CAP, .table = R.mem };
	ASSERT_EQ(0, pdma_core_create(&cfg, &core));
	ASSERT_EQ(PDMA_LOAD_OK, pdma_core_load(core, NULL));
	ASSERT_EQ(0, pdma_core_lookup(core, N("a"), &e));
	ASSERT_EQ(-EROFS, pdma_core_alloc(core, N("b"), 4096, 0, 0, NULL));
	ASSERT_EQ(-EROFS, pdma_core_free(core, N("a")));
	ASSERT_EQ(-EROFS, pdma_core_claim(core, N("a"), NULL));
	ASSERT_EQ(-EROFS, pdma_core_adopt(core));
	ASSERT_EQ(-EROFS, pdma_core_format(core));
	pdma_core_destroy(core);
	region_fini(&R);
	return 0;
}

static int load_round_trip(void)
{
	struct pdma_load_report rep;
	struct snapshot a, b;
	int i;

	CHECK(setup());
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, alloc(N("r%d", i), (i + 1) * 4096,
				   4096 << (i % 4), NULL));
	for (i = 0; i < 10; i += 3)
		ASSERT_EQ(0, pdma_core_free(R.core, N("r%d", i)));
	CHECK(snapshot_take(R.core, &a));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(a.info.current_copy, rep.used);
	ASSERT_EQ(PDMA_COPY_OK, rep.copy[rep.used].status);
	ASSERT_EQ(PDMA_COPY_UNCHECKED, rep.copy[!rep.used].status);
	CHECK(snapshot_take(R.core, &b));
	CHECK(snapshot_cmp(&a, &b, true));
	ASSERT_EQ(0, pdma_core_verify(R.core));
	/* A new allocation after reload lands where it would have before. */
	ASSERT_EQ(0, alloc(N("after"), 4096, 0, NULL));
	snapshot_free(&a);
	snapshot_free(&b);
	region_fini(&R);
	return 0;
}

static int corrupt_current_copy_falls_back(void)
{
	struct pdma_load_report rep;
	struct pdma_core_entry e;
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));	/* gen 3 in A */
	ent_of(&R, 0, 1)->name[0] ^= 1;			/* rot in A */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(1, rep.used);
	ASSERT_EQ(PDMA_COPY_BAD_CRC, rep.copy[0].status);
	ASSERT_EQ(PDMA_COPY_OK, rep.copy[1].status);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(2, info.generation);
	ASSERT_EQ(1, info.nr_entries);
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("a"), &e));
	ASSERT_EQ(-ENOENT, pdma_core_lookup(R.core, N("b"), &e));
	/* The next commit overwrites the bad copy and wins. */
	ASSERT_EQ(0, alloc(N("c"), 4096, 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(0, rep.used);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(3, info.generation);
	region_fini(&R);
	return 0;
}

static int corrupt_older_copy_unchecked(void)
{
	struct pdma_load_report rep;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));	/* gen 3 in A */
	ent_of(&R, 1, 0)->name[0] ^= 1;
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(0, rep.used);
	ASSERT_EQ(PDMA_COPY_OK, rep.copy[0].status);
	ASSERT_EQ(PDMA_COPY_UNCHECKED, rep.copy[1].status);
	ASSERT_EQ(PDMA_COPY_BAD_CRC, pdma_core_check_copy(R.core, 1,
							  &rep.copy[1]));
	region_fini(&R);
	return 0;
}

static int newer_copy_b_wins(void)
{
	struct pdma_load_report rep;
	struct pdma_core_info info;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(1, rep.used);
	ASSERT_EQ(PDMA_COPY_UNCHECKED, rep.copy[0].status);
	ASSERT_EQ(1, rep.copy[0].generation);
	ASSERT_EQ(2, rep.copy[1].generation);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(1, info.current_copy);
	region_fini(&R);
	return 0;
}

static int both_copies_corrupt_readonly(void)
{
	struct pdma_load_report rep;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	hdr_of(&R, 0)->adopt_count ^= cpu_to_le32(4);
	hdr_of(&R, 1)->crc32c ^= cpu_to_le32(1);
	ASSERT_EQ(PDMA_LOAD_CORRUPT, region_load(&R, &rep));
	ASSERT_EQ(PDMA_COPY_BAD_CRC, rep.copy[0].status);
	ASSERT_EQ(PDMA_COPY_BAD_CRC, rep.copy[1].status);
	ASSERT_EQ(-1, rep.used);
	/* Magic in one copy only, and that one bad: still corrupt. */
	memset(hdr_of(&R, 1), 0, R.lay.copy_size);
	ASSERT_EQ(PDMA_LOAD_CORRUPT, region_load(&R, &rep));
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, rep.copy[1].status);
	region_fini(&R);
	return 0;
}

static int region_mismatch_readonly(void)
{
	struct pdma_load_report rep;
	struct region m;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));

	CHECK(region_clone_config(&m, &R, BASE + SZ_1M, SIZE, CAP));
	ASSERT_EQ(PDMA_LOAD_MISMATCH, region_load(&m, &rep));
	ASSERT_EQ(PDMA_COPY_REGION_MISMATCH, rep.copy[0].status);
	ASSERT_EQ(PDMA_COPY_REGION_MISMATCH, rep.copy[1].status);
	ASSERT_EQ(-EROFS, pdma_core_alloc(m.core, N("b"), 4096, 0, 0, NULL));
	ASSERT_EQ(0, m.stores);
	region_fini(&m);

	CHECK(region_clone_config(&m, &R, BASE, SIZE - SZ_1M, CAP));
	ASSERT_EQ(PDMA_LOAD_MISMATCH, region_load(&m, &rep));
	ASSERT_EQ(PDMA_COPY_REGION_MISMATCH, rep.copy[0].status);
	region_fini(&m);

	CHECK(region_clone_config(&m, &R, BASE, SIZE, CAP + 1));
	ASSERT_EQ(PDMA_LOAD_MISMATCH, region_load(&m, &rep));
	ASSERT_EQ(PDMA_COPY_CAPACITY_MISMATCH, rep.copy[0].status);
	/* The capacity to configure instead can be read from copy A. */
	ASSERT_EQ(CAP, pdma_core_peek_capacity(m.mem));
	region_fini(&m);
	ASSERT_EQ(0, pdma_core_peek_capacity(R.mem + R.lay.copy_size / 2));
	region_fini(&R);
	return 0;
}

struct edit {
	const char *what;
	void (*fn)(struct region *r);
	bool reseal;
	enum pdma_copy_status status;
	u32 slot;
	u32 other;
};

#define H(r)	hdr_of(r, 0)
#define E(r, i)	ent_of(r, 0, i)

static void ed_crc(struct region *r) { H(r)->crc32c ^= cpu_to_le32(0x100); }
static void ed_magic(struct region *r) { H(r)->magic ^= cpu_to_le64(1); }
static void ed_version(struct region *r) { H(r)->version = cpu_to_le32(2); }
static void ed_hsize(struct region *r) { H(r)->header_size = cpu_to_le32(120); }
static void ed_esize(struct region *r) { H(r)->entry_size = cpu_to_le32(64); }
static void ed_cap(struct region *r) { H(r)->capacity = cpu_to_le32(CAP - 1); }
static void ed_base(struct region *r) { H(r)->region_base = cpu_to_le64(0); }
static void ed_dofs(struct region *r) { H(r)->data_offset = cpu_to_le64(0); }
static void ed_hres(struct region *r) { H(r)->reserved[6] = cpu_to_le64(1); }
static void ed_hres0(struct region *r) { H(r)->reserved0 = cpu_to_le32(1); }
static void ed_gen0(struct region *r) { H(r)->generation = 0; }
static void ed_count(struct region *r) { H(r)->nr_entries = cpu_to_le32(4); }
static void ed_state(struct region *r) { E(r, 1)->state = cpu_to_le32(4); }
static void ed_freejunk(struct region *r) { E(r, 5)->reserved[2] = 1; }
static void ed_freename(struct region *r) { E(r, 5)->name[0] = 'x'; }
static void ed_noname(struct region *r) { E(r, 1)->name[0] = 0; }
static void ed_nonul(struct region *r) { memset(E(r, 1)->name, 'n', 64); }
static void ed_padjunk(struct region *r) { E(r, 1)->name[40] = 'j'; }
static void ed_size(struct region *r) { E(r, 1)->size = cpu_to_le64(4095); }
static void ed_size0(struct region *r) { E(r, 1)->size = 0; }
static void ed_below(struct region *r) { E(r, 1)->offset = cpu_to_le64(0); }
static void ed_beyond(struct region *r)
{
	E(r, 1)->offset = cpu_to_le64(SIZE - 4096);
	E(r, 1)->size = cpu_to_le64(8192);
}

static void ed_wrap(struct region *r)
{
	E(r, 1)->size = cpu_to_le64(U64_MAX & ~4095ULL);
}

static void ed_align3(struct region *r) { E(r, 1)->align = cpu_to_le64(3 << 12); }
static void ed_align2g(struct region *r) { E(r, 1)->align = cpu_to_le64(2 * SZ_1G); }
static void ed_misalign(struct region *r)
{
	E(r, 1)->align = cpu_to_le64(SZ_1G);
}

static void ed_flags(struct region *r) { E(r, 1)->flags = cpu_to_le32(2); }
static void ed_cgen0(struct region *r) { E(r, 1)->create_gen = 0; }
static void ed_cgen(struct region *r) { E(r, 1)->create_gen = cpu_to_le64(99); }
static void ed_eres(struct region *r) { E(r, 1)->reserved[0] = cpu_to_le64(1); }
static void ed_overlap(struct region *r)
{
	E(r, 2)->offset = cpu_to_le64(le64_to_cpu(E(r, 1)->offset) + 4096);
}

static void ed_dup(struct region *r)
{
	memcpy(E(r, 2)->name, E(r, 0)->name, PDMA_NAME_MAX);
}

static void ed_none(struct region *r) { (void)r; }

static int check_copy_reasons(void)
{
	static const struct edit edits[] = {
		{ "valid", ed_none, true, PDMA_COPY_OK, PDMA_NONE, PDMA_NONE },
		{ "crc", ed_crc, false, PDMA_COPY_BAD_CRC, PDMA_NONE, PDMA_NONE },
		{ "magic", ed_magic, true, PDMA_COPY_NO_MAGIC, PDMA_NONE, PDMA_NONE },
		{ "version", ed_version, true, PDMA_COPY_BAD_VERSION, PDMA_NONE, PDMA_NONE },
		{ "hsize", ed_hsize, true, PDMA_COPY_BAD_LAYOUT, PDMA_NONE, PDMA_NONE },
		{ "esize", ed_esize, true, PDMA_COPY_BAD_LAYOUT, PDMA_NONE, PDMA_NONE },
		{ "cap", ed_cap, true, PDMA_COPY_CAPACITY_MISMATCH, PDMA_NONE, PDMA_NONE },
		{ "base", ed_base, true, PDMA_COPY_REGION_MISMATCH, PDMA_NONE, PDMA_NONE },
		{ "dofs", ed_dofs, true, PDMA_COPY_BAD_LAYOUT, PDMA_NONE, PDMA_NONE },
		{ "hres", ed_hres, true, PDMA_COPY_BAD_HEADER, PDMA_NONE, PDMA_NONE },
		{ "hres0", ed_hres0, true, PDMA_COPY_BAD_HEADER, PDMA_NONE, PDMA_NONE },
		{ "gen0", ed_gen0, true, PDMA_COPY_BAD_HEADER, PDMA_NONE, PDMA_NONE },
		{ "count", ed_count, true, PDMA_COPY_BAD_COUNT, PDMA_NONE, PDMA_NONE },
		{ "state", ed_state, true, PDMA_COPY_BAD_STATE, 1, PDMA_NONE },
		{ "freejunk", ed_freejunk, true, PDMA_COPY_BAD_FREE_SLOT, 5, PDMA_NONE },
		{ "freename", ed_freename, true, PDMA_COPY_BAD_FREE_SLOT, 5, PDMA_NONE },
		{ "noname", ed_noname, true, PDMA_COPY_BAD_NAME, 1, PDMA_NONE },
		{ "nonul", ed_nonul, true, PDMA_COPY_BAD_NAME, 1, PDMA_NONE },
		{ "padjunk", ed_padjunk, true, PDMA_COPY_BAD_NAME, 1, PDMA_NONE },
		{ "size", ed_size, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "size0", ed_size0, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "below", ed_below, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "beyond", ed_beyond, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "wrap", ed_wrap, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "align3", ed_align3, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "align2g", ed_align2g, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "misalign", ed_misalign, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "flags", ed_flags, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "cgen0", ed_cgen0, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "cgen", ed_cgen, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "eres", ed_eres, true, PDMA_COPY_BAD_ENTRY, 1, PDMA_NONE },
		{ "overlap", ed_overlap, true, PDMA_COPY_OVERLAP, 1, 2 },
		{ "dup", ed_dup, true, PDMA_COPY_DUPLICATE_NAME, 2, 0 },
	};
	struct pdma_copy_report rep;
	struct pdma_core_info info;
	u8 *saved;
	unsigned int i;

	CHECK(setup());
	/* Copy A current (gen 5), slots 0..2 used at 8K, 12K and 20K. */
	ASSERT_EQ(0, alloc(N("e0"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("e1"), 8192, 0, NULL));
	ASSERT_EQ(0, alloc(N("e2"), 4096, 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_adopt(R.core));
	pdma_core_info(R.core, &info);
	ASSERT_EQ(0, info.current_copy);
	saved = malloc(R.lay.data_offset);
	memcpy(saved, R.mem, R.lay.data_offset);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		memcpy(R.mem, saved, R.lay.data_offset);
		edits[i].fn(&R);
		if (edits[i].reseal)
			reseal(&R, 0);
		pdma_core_check_copy(R.core, 0, &rep);
		if (rep.status != edits[i].status || rep.slot != edits[i].slot ||
		    rep.other != edits[i].other) {
			free(saved);
			TEST_FAIL("edit %s: got %d (%s) slot %u other %u", edits[i].what,
				  rep.status, pdma_copy_status_str(rep.status),
				  rep.slot, rep.other);
		}
		/* Checking never disturbs the live state. */
		if (pdma_core_verify(R.core)) {
			free(saved);
			TEST_FAIL("edit %s broke the live core", edits[i].what);
		}
	}
	free(saved);
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, pdma_core_check_copy(R.core, 2, &rep));
	region_fini(&R);
	return 0;
}

static int copy_report_crc(void)
{
	struct pdma_load_report lrep;
	struct pdma_copy_report rep;
	u32 good;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	good = le32_to_cpu(hdr_of(&R, 1)->crc32c);
	ASSERT_EQ(PDMA_COPY_OK, pdma_core_check_copy(R.core, 1, &rep));
	ASSERT_EQ(PDMA_CRC_GOOD, rep.crc);
	ASSERT_EQ(good, rep.crc_stored);
	ASSERT_EQ(good, rep.crc_computed);
	/* Bad CRC: both values reported. */
	hdr_of(&R, 1)->crc32c ^= cpu_to_le32(0x100);
	ASSERT_EQ(PDMA_COPY_BAD_CRC, pdma_core_check_copy(R.core, 1, &rep));
	ASSERT_EQ(PDMA_CRC_BAD, rep.crc);
	ASSERT_EQ(good ^ 0x100, rep.crc_stored);
	ASSERT_EQ(good, rep.crc_computed);
	/* A data_offset rejected after the CRC: the CRC was good. */
	hdr_of(&R, 1)->data_offset = 0;
	reseal(&R, 1);
	ASSERT_EQ(PDMA_COPY_BAD_LAYOUT, pdma_core_check_copy(R.core, 1, &rep));
	ASSERT_EQ(PDMA_CRC_GOOD, rep.crc);
	/* A header size rejected before the CRC: not computed. */
	hdr_of(&R, 1)->header_size = cpu_to_le32(120);
	reseal(&R, 1);
	ASSERT_EQ(PDMA_COPY_BAD_LAYOUT, pdma_core_check_copy(R.core, 1, &rep));
	ASSERT_EQ(PDMA_CRC_UNCHECKED, rep.crc);
	ASSERT_EQ(le32_to_cpu(hdr_of(&R, 1)->crc32c), rep.crc_stored);
	ASSERT_EQ(0, rep.crc_computed);
	/* Load: the newer copy A (gen 3) wins, B is not examined. */
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &lrep));
	ASSERT_EQ(PDMA_CRC_GOOD, lrep.copy[0].crc);
	ASSERT_EQ(PDMA_COPY_UNCHECKED, lrep.copy[1].status);
	ASSERT_EQ(PDMA_CRC_UNCHECKED, lrep.copy[1].crc);
	ASSERT_EQ(le32_to_cpu(hdr_of(&R, 1)->crc32c), lrep.copy[1].crc_stored);
	ASSERT_EQ(PDMA_COPY_NO_MAGIC, pdma_core_check_copy(R.core, 2, &rep));
	ASSERT_EQ(PDMA_CRC_UNCHECKED, rep.crc);
	ASSERT_EQ(0, rep.crc_stored);
	region_fini(&R);
	return 0;
}

static int peek_region_reads_copy_header(void)
{
	u64 base = 1, size = 2;

	CHECK(setup());
	ASSERT_EQ(CAP, pdma_core_peek_region(R.mem, &base, &size));
	ASSERT_EQ(BASE, base);
	ASSERT_EQ(SIZE, size);
	/* Copy B has no magic yet: nothing is reported, nothing written. */
	base = 1;
	size = 2;
	ASSERT_EQ(0, pdma_core_peek_region(R.mem + R.lay.copy_size, &base,
					   &size));
	ASSERT_EQ(1, base);
	ASSERT_EQ(2, size);
	/* After a commit, copy B records the same region. */
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	ASSERT_EQ(CAP, pdma_core_peek_region(R.mem + R.lay.copy_size, &base,
					     &size));
	ASSERT_EQ(BASE, base);
	ASSERT_EQ(SIZE, size);
	/* An impossible capacity reads as no table. */
	hdr_of(&R, 0)->capacity = cpu_to_le32(PDMA_CORE_MAX_CAPACITY + 1);
	ASSERT_EQ(0, pdma_core_peek_region(R.mem, &base, &size));
	region_fini(&R);
	return 0;
}

static int status_strings(void)
{
	int i, j;

	for (i = 0; i < PDMA_COPY_NR_STATUS; i++) {
		ASSERT_TRUE(pdma_copy_status_str(i) != NULL);
		ASSERT_NE(0, strcmp(pdma_copy_status_str(i), "unknown"));
		for (j = 0; j < i; j++)
			ASSERT_NE(0, strcmp(pdma_copy_status_str(i),
					    pdma_copy_status_str(j)));
	}
	ASSERT_EQ(0, strcmp("unknown",
			    pdma_copy_status_str(PDMA_COPY_NR_STATUS)));
	ASSERT_EQ(0, strcmp("unknown", pdma_copy_status_str(-1)));
	return 0;
}

static int iterate_entries_and_slots(void)
{
	struct pdma_core_entry e;
	u32 cursor = 0;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("s0"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("s1"), 4096, 0, NULL));
	ASSERT_EQ(0, alloc(N("s2"), 4096, 0, NULL));
	ASSERT_EQ(0, pdma_core_free(R.core, N("s0")));
	ASSERT_EQ(0, pdma_core_next_entry(R.core, &cursor, &e));
	ASSERT_EQ(1, e.id);
	ASSERT_EQ(2, cursor);
	ASSERT_EQ(0, pdma_core_next_entry(R.core, &cursor, &e));
	ASSERT_EQ(2, e.id);
	ASSERT_EQ(0, strcmp("s2", e.name));
	ASSERT_EQ(-ENOENT, pdma_core_next_entry(R.core, &cursor, &e));
	ASSERT_EQ(-ENOENT, pdma_core_entry(R.core, 0, &e));
	ASSERT_EQ(-ENOENT, pdma_core_entry(R.core, CAP, &e));
	ASSERT_EQ(0, pdma_core_entry(R.core, 1, &e));
	ASSERT_EQ(0, strcmp("s1", e.name));
	/* The freed slot is handed out again. */
	ASSERT_EQ(0, alloc(N("s3"), 4096, 0, &e));
	ASSERT_EQ(0, e.id);
	region_fini(&R);
	return 0;
}

static bool name_ok_ref(const u8 *n)
{
	int i, len = 0;

	while (len < PDMA_NAME_MAX && n[len])
		len++;
	if (!len || len == PDMA_NAME_MAX)
		return false;
	for (i = len; i < PDMA_NAME_MAX; i++)
		if (n[i])
			return false;
	return true;
}

static int name_check_matches_reference(void)
{
	static const u8 bytes[] = { 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, 'a' };
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
		ASSERT_EQ(name_ok_ref(n), pdma_name_check((char *)n, &h1));
		if (!name_ok_ref(n))
			continue;
		/* Equal names hash alike, wherever they live. */
		memcpy(m, n, sizeof(m));
		ASSERT_TRUE(pdma_name_check((char *)m, &h2));
		ASSERT_EQ(h1, h2);
	}
	return 0;
}

static const struct test_case tests[] = {
	TEST(crc32c_check_value, "Expect CRC32C(\"123456789\") = 0xE3069283."),
	TEST(crc32c_matches_bitwise, "Expect slice-by-8 to equal a bitwise CRC32C at every alignment and length, also when streamed or copying."),
	TEST(layout_values, "Expect copy_size = round_up(128 + 128 * capacity, 4096) and data_offset = 2 * copy_size."),
	TEST(layout_rejects_bad_regions, "Expect -EINVAL for unaligned, too small, too large or wrapping regions and bad capacities."),
	TEST(empty_region_loads_empty, "Expect a zeroed region to load as EMPTY and refuse mutations with -EROFS until formatted."),
	TEST(format_writes_copy_a, "Expect format to leave copy A valid at generation 1, copy B without magic, A's magic stored last."),
	TEST(commit_store_order, "Expect each commit to store slots, header, then CRC into the inactive copy, alternating copies."),
	TEST(alloc_simple, "Expect the first allocation at data_offset, size rounded to pages, recorded fields exact."),
	TEST(alloc_rejects_bad_size, "Expect -EINVAL for size 0, rounding overflow and sizes above the data area."),
	TEST(alloc_rejects_bad_align, "Expect -EINVAL for alignments not a power of two or outside [4K, 1G]."),
	TEST(alloc_rejects_bad_flags, "Expect -EINVAL for unknown flags and known flags recorded."),
	TEST(names_rejected, "Expect -EINVAL for empty, unterminated or unpadded names in every call."),
	TEST(name_check_matches_reference, "Expect the word-at-a-time name check to agree with a byte-wise one on 200k names with high-bit, holed and padded bytes."),
	TEST(names_duplicate, "Expect -EEXIST for a duplicate name without any store; the name is reusable after free."),
	TEST(errors_change_nothing, "Expect every failing call to leave the state and the region bytes unchanged."),
	TEST(alloc_physical_alignment, "Expect alignment applied to base + offset for a region based at 1G + 12K."),
	TEST(alloc_best_fit, "Expect the smallest hole that fits to be used."),
	TEST(alloc_best_fit_ties_lowest, "Expect the lowest offset among equally sized holes."),
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
	TEST(readonly_rejects_mutations, "Expect a corrupt table to load read-only: -EROFS, no stores, no entries; format overrides."),
	TEST(inspection_core_never_writes, "Expect a core without ops to load tables but refuse every mutation."),
	TEST(load_round_trip, "Expect a reload to reproduce the exact state, checking only the newer copy."),
	TEST(corrupt_current_copy_falls_back, "Expect a corrupt newer copy to lose to the older valid one."),
	TEST(corrupt_older_copy_unchecked, "Expect a corrupt older copy to be ignored and not even CRC'd."),
	TEST(newer_copy_b_wins, "Expect copy B to win when its generation is higher."),
	TEST(both_copies_corrupt_readonly, "Expect CORRUPT with BAD_CRC on both copies when both are damaged."),
	TEST(region_mismatch_readonly, "Expect MISMATCH for another base, size or capacity, and no stores."),
	TEST(check_copy_reasons, "Expect each kind of damage reported with its own status and slots."),
	TEST(copy_report_crc, "Expect each copy report to say whether the CRC was checked and matched, with the stored and computed values."),
	TEST(peek_region_reads_copy_header, "Expect the recorded capacity, base and size of a copy with the magic, and 0 without touching the outputs otherwise."),
	TEST(status_strings, "Expect a distinct string per status and \"unknown\" out of range."),
	TEST(iterate_entries_and_slots, "Expect slot-order iteration with cursors and slot reuse."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_core", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
