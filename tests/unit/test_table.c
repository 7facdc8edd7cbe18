// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pdma core's table: CRC32C, layout, format, load and
 * commit order, read-only and inspection-only cores, peeking at a copy
 * header, status strings and entry iteration. Each test checks one
 * behaviour; its "Expect" sentence is in the table at the bottom.
 */
#include <string.h>
#include "core_fixture.h"

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
	unsigned long k, slots;
	u64 dst;
	int i;

	CHECK(setup());
	for (i = 0; i < 4; i++) {
		R.stores = 0;
		ASSERT_EQ(0, alloc(N("b%d", i), 4096, 0, NULL));
		/*
		 * Commits alternate: B, A, B, A. The first after format
		 * writes every slot; later ones the slot of the previous
		 * commit (missing from this copy) and their own.
		 */
		dst = (i % 2 ? 0 : 1) * R.lay.copy_size;
		slots = i ? 2 : 1;
		ASSERT_EQ(slots + 2, R.stores);
		if (!i) {
			ASSERT_EQ(dst + 128, R.log[0].off);
			ASSERT_EQ(CAP * 128, R.log[0].len);
		}
		for (k = 0; i && k < slots; k++) {
			ASSERT_EQ(128, R.log[k].len);
			ASSERT_EQ(dst + 128 + 128 * (u64)(i - slots + 1 + k), R.log[k].off);
		}
		ASSERT_EQ(dst, R.log[slots].off);
		ASSERT_EQ(128, R.log[slots].len);
		ASSERT_EQ(dst + offsetof(struct pdma_table_header, crc32c),
			  R.log[slots + 1].off);
		ASSERT_EQ(4, R.log[slots + 1].len);
	}
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

static const struct test_case tests[] = {
	TEST(crc32c_check_value, "Expect CRC32C(\"123456789\") = 0xE3069283."),
	TEST(crc32c_matches_bitwise, "Expect slice-by-8 to equal a bitwise CRC32C at every alignment and length, also when streamed or copying."),
	TEST(layout_values, "Expect copy_size = round_up(128 + 128 * capacity, 4096) and data_offset = 2 * copy_size."),
	TEST(layout_rejects_bad_regions, "Expect -EINVAL for unaligned, too small, too large or wrapping regions and bad capacities."),
	TEST(empty_region_loads_empty, "Expect a zeroed region to load as EMPTY and refuse mutations with -EROFS until formatted."),
	TEST(format_writes_copy_a, "Expect format to leave copy A valid at generation 1, copy B without magic, A's magic stored last."),
	TEST(commit_store_order, "Expect each commit to store the slots the inactive copy lacks (all after format, then the previous and the current commit's), header, then CRC, alternating copies."),
	TEST(readonly_rejects_mutations, "Expect a corrupt table to load read-only: -EROFS, no stores, no entries; format overrides."),
	TEST(inspection_core_never_writes, "Expect a core without ops to load tables but refuse every mutation."),
	TEST(load_round_trip, "Expect a reload to reproduce the exact state, checking only the newer copy."),
	TEST(peek_region_reads_copy_header, "Expect the recorded capacity, base and size of a copy with the magic, and 0 without touching the outputs otherwise."),
	TEST(status_strings, "Expect a distinct string per status and \"unknown\" out of range."),
	TEST(iterate_entries_and_slots, "Expect slot-order iteration with cursors and slot reuse."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_table", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
