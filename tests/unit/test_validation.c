// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pdma core's per-copy validation: falling back to the
 * other copy, corrupt and mismatched tables, every kind of damage with its
 * own status and slots, and the CRC in each copy report. Each test checks
 * one behaviour; its "Expect" sentence is in the table at the bottom.
 */
#include <stdlib.h>
#include <string.h>
#include "core_fixture.h"

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

static const struct test_case tests[] = {
	TEST(corrupt_current_copy_falls_back, "Expect a corrupt newer copy to lose to the older valid one."),
	TEST(corrupt_older_copy_unchecked, "Expect a corrupt older copy to be ignored and not even CRC'd."),
	TEST(newer_copy_b_wins, "Expect copy B to win when its generation is higher."),
	TEST(both_copies_corrupt_readonly, "Expect CORRUPT with BAD_CRC on both copies when both are damaged."),
	TEST(region_mismatch_readonly, "Expect MISMATCH for another base, size or capacity, and no stores."),
	TEST(check_copy_reasons, "Expect each kind of damage reported with its own status and slots."),
	TEST(copy_report_crc, "Expect each copy report to say whether the CRC was checked and matched, with the stored and computed values."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_validation", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
