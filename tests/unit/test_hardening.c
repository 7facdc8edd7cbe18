// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pdma core against the review of the module v1: memory
 * reserved before it is published, bounded generations, the capacity
 * taken only from a CRC-valid copy, a name hash that no chosen set of
 * names can flood, and the region size limit. Each test checks one
 * behaviour; its "Expect" sentence is in the table at the bottom.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core_fixture.h"

static int reserve_stores_nothing(void)
{
	struct pdma_core_info before, after;
	struct pdma_core_entry e;
	unsigned long stores;
	u64 size = 8192, align = 0, off;

	CHECK(setup());
	pdma_core_info(R.core, &before);
	stores = R.stores;
	ASSERT_EQ(0, pdma_core_reserve(R.core, N("z"), &size, &align, PDMA_ALLOC_ZERO, &off));
	ASSERT_EQ(stores, R.stores);
	pdma_core_info(R.core, &after);
	ASSERT_EQ(before.generation, after.generation);
	ASSERT_EQ(0, after.nr_entries);
	ASSERT_EQ(before.free_bytes - 8192, after.free_bytes);
	/* Another caller gets other pages. */
	ASSERT_EQ(0, alloc(N("other"), 8192, 0, &e));
	ASSERT_TRUE(e.offset + e.size <= off || off + size <= e.offset);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	/* A crash now: the next load has no trace of the reservation. */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(-ENOENT, pdma_core_lookup(R.core, N("z"), &e));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("other"), &e));
	region_fini(&R);
	return 0;
}

static int publish_records_the_reserved_extent(void)
{
	struct pdma_core_entry e, l;
	u64 size = 5000, align = SZ_64K, off;

	CHECK(setup());
	ASSERT_EQ(0, pdma_core_reserve(R.core, N("z"), &size, &align, PDMA_ALLOC_ZERO, &off));
	ASSERT_EQ(8192, size);
	ASSERT_EQ(0, pdma_core_publish(R.core, N("z"), off, size, align, PDMA_ALLOC_ZERO, &e));
	ASSERT_EQ(off, e.offset);
	ASSERT_EQ(size, e.size);
	ASSERT_EQ(PDMA_ALLOC_ZERO, e.flags);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("z"), &l));
	ASSERT_TRUE(entry_eq(&e, &l));
	region_fini(&R);
	return 0;
}

static int publish_rechecks_the_name(void)
{
	struct pdma_core_info before, after;
	unsigned long stores;
	u64 size = 4096, align = 0, off;

	CHECK(setup());
	pdma_core_info(R.core, &before);
	ASSERT_EQ(0, pdma_core_reserve(R.core, N("n"), &size, &align, 0, &off));
	/* Someone else took the name while the extent was being zeroed. */
	ASSERT_EQ(0, alloc(N("n"), 4096, 0, NULL));
	stores = R.stores;
	ASSERT_EQ(-EEXIST, pdma_core_publish(R.core, N("n"), off, size, align, 0, NULL));
	ASSERT_EQ(stores, R.stores);
	pdma_core_unreserve(R.core, off, size);
	pdma_core_info(R.core, &after);
	ASSERT_EQ(before.free_bytes - 4096, after.free_bytes);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

static int unreserve_gives_the_extent_back(void)
{
	struct pdma_core_info before, after;
	u64 size = SZ_1M, align = 0, off;

	CHECK(setup());
	pdma_core_info(R.core, &before);
	ASSERT_EQ(0, pdma_core_reserve(R.core, N("z"), &size, &align, 0, &off));
	pdma_core_unreserve(R.core, off, size);
	pdma_core_info(R.core, &after);
	ASSERT_EQ(before.free_bytes, after.free_bytes);
	ASSERT_EQ(before.largest_free, after.largest_free);
	ASSERT_EQ(0, pdma_core_verify(R.core));
	region_fini(&R);
	return 0;
}

/* Set the generation of copy @copy and reseal it. */
static void set_gen(int copy, u64 gen)
{
	hdr_of(&R, copy)->generation = cpu_to_le64(gen);
	reseal(&R, copy);
}

static int generation_at_limit_rejected_at_load(void)
{
	static const u64 bad[] = { PDMA_GEN_LIMIT, PDMA_GEN_LIMIT + 1, U64_MAX - 1, U64_MAX };
	struct pdma_load_report rep;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(setup());
		ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
		set_gen(1, bad[i]);
		/* The CRC-valid B with the huge generation loses to A. */
		ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
		ASSERT_EQ(PDMA_COPY_BAD_HEADER, rep.copy[1].status);
		ASSERT_EQ(0, rep.used);
		set_gen(0, bad[i]);
		ASSERT_EQ(PDMA_LOAD_CORRUPT, region_load(&R, &rep));
		ASSERT_EQ(PDMA_COPY_BAD_HEADER, rep.copy[0].status);
		region_fini(&R);
	}
	return 0;
}

static int commits_refused_at_the_generation_limit(void)
{
	struct pdma_core_info info;
	unsigned long stores;

	CHECK(setup());
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	set_gen(1, PDMA_GEN_LIMIT - 3);
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));	/* LIMIT - 2 */
	ASSERT_EQ(0, pdma_core_free(R.core, N("b")));	/* LIMIT - 1: the last */
	stores = R.stores;
	ASSERT_EQ(-EOVERFLOW, alloc(N("c"), 4096, 0, NULL));
	ASSERT_EQ(-EOVERFLOW, pdma_core_free(R.core, N("a")));
	ASSERT_EQ(-EOVERFLOW, pdma_core_adopt(R.core));
	ASSERT_EQ(stores, R.stores);
	pdma_core_info(R.core, &info);
	ASSERT_EQ(PDMA_GEN_LIMIT - 1, info.generation);
	/* What is there still loads, read as it is. */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, NULL));
	ASSERT_EQ(0, pdma_core_lookup(R.core, N("a"), &(struct pdma_core_entry){ 0 }));
	region_fini(&R);
	return 0;
}

static int capacity_from_copy_b_when_a_is_hit(void)
{
	struct pdma_load_report rep;
	struct pdma_table_header *a;

	CHECK(setup_cap(64));
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));	/* gen 2 in B */
	ASSERT_EQ(0, alloc(N("b"), 4096, 0, NULL));	/* gen 3 in A */
	ASSERT_EQ(64, pdma_core_probe_capacity(R.mem, R.lay.data_offset, BASE, SIZE));
	a = hdr_of(&R, 0);
	a->capacity = cpu_to_le32(le32_to_cpu(a->capacity) ^ (1U << 12));
	ASSERT_EQ(0, pdma_core_peek_capacity(R.mem) == 64);
	ASSERT_EQ(64, pdma_core_probe_capacity(R.mem, R.lay.data_offset, BASE, SIZE));
	/* With that capacity, the load finds B where it is. */
	ASSERT_EQ(PDMA_LOAD_OK, region_load(&R, &rep));
	ASSERT_EQ(1, rep.used);
	region_fini(&R);
	return 0;
}

static int capacity_needs_a_crc_valid_copy(void)
{
	struct pdma_table_header *a;

	CHECK(setup_cap(64));
	ASSERT_EQ(0, alloc(N("a"), 4096, 0, NULL));
	/* Both copies hit: nothing valid, so no capacity is trusted. */
	hdr_of(&R, 0)->capacity = cpu_to_le32(PDMA_CORE_MAX_CAPACITY);
	hdr_of(&R, 1)->nr_entries ^= cpu_to_le32(1);
	ASSERT_EQ(0, pdma_core_probe_capacity(R.mem, R.lay.data_offset, BASE, SIZE));
	/* 12 bytes, magic and a huge capacity, in an empty region. */
	memset(R.mem, 0, R.lay.data_offset);
	a = hdr_of(&R, 0);
	a->magic = cpu_to_le64(PDMA_TABLE_MAGIC);
	a->capacity = cpu_to_le32(PDMA_CORE_MAX_CAPACITY);
	ASSERT_EQ(0, pdma_core_probe_capacity(R.mem, R.lay.data_offset, BASE, SIZE));
	region_fini(&R);
	return 0;
}

static int region_limit_is_exclusive(void)
{
	struct pdma_layout lay;

	ASSERT_EQ(-EINVAL, pdma_core_layout(0, PDMA_CORE_MAX_REGION, CAP, &lay));
	ASSERT_EQ(0, pdma_core_layout(0, PDMA_CORE_MAX_REGION - PDMA_PAGE_SIZE, CAP, &lay));
	return 0;
}

/*
 * The v1 name hash, unseeded: h = (h ^ word) * K, h ^= h >> 29 per word.
 * Every step is invertible, so names sharing one final hash are easy to
 * build: pick the first word, solve the second.
 */
#define V1_K		0x9e3779b97f4a7c15ULL

static u64 v1_mix(u64 h, u64 v)
{
	h = (h ^ v) * V1_K;
	return h ^ h >> 29;
}

static u64 v1_unmix(u64 h)
{
	u64 kinv = V1_K, x = h;
	int i;

	for (i = 0; i < 6; i++)		/* Newton: K * kinv == 1 mod 2^64 */
		kinv *= 2 - V1_K * kinv;
	for (i = 0; i < 3; i++)		/* undo h ^= h >> 29 */
		x = h ^ x >> 29;
	return x * kinv;
}

static bool printable_word(u64 v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		if ((v & 0xff) < 0x21 || (v & 0xff) > 0x7e)
			return false;
	return true;
}

/* @n names of 16 printable bytes that all share one v1 hash. */
static void v1_colliding_names(char (*names)[PDMA_NAME_MAX], u32 n)
{
	const u64 target = v1_unmix(0x0123456789abcdefULL);
	u64 seed = 11, w0, w1;
	u32 i = 0;

	int b;

	while (i < n) {
		for (w0 = 0, b = 0; b < 8; b++)
			w0 = w0 << 8 | (0x21 + rnd_next(&seed) % 94);
		w1 = target ^ v1_mix(0, w0);
		if (!printable_word(w1))
			continue;
		memset(names[i], 0, PDMA_NAME_MAX);
		memcpy(names[i], &w0, 8);
		memcpy(names[i] + 8, &w1, 8);
		i++;
	}
}

/* Format a region of @n entries named @names, then time 3 loads: best. */
static double load_seconds(char (*names)[PDMA_NAME_MAX], u32 n)
{
	struct timespec t0, t1;
	double best = 1e9, s;
	int k;
	u32 i;

	struct pdma_table_entry *e;

	if (region_init(&R, BASE, SZ_1G, n) || region_format(&R))
		return -1;
	/* Written directly into copy A: n commits would cost n^2 here. */
	for (i = 0; i < n; i++) {
		e = ent_of(&R, 0, i);
		memcpy(e->name, names[i], PDMA_NAME_MAX);
		e->offset = cpu_to_le64(R.lay.data_offset + (u64)i * 4096);
		e->size = cpu_to_le64(4096);
		e->align = cpu_to_le64(4096);
		e->create_gen = cpu_to_le64(1);
		e->state = cpu_to_le32(PDMA_ENTRY_ALLOCATED);
	}
	hdr_of(&R, 0)->nr_entries = cpu_to_le32(n);
	reseal(&R, 0);
	for (k = 0; k < 3; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (region_load(&R, NULL) != PDMA_LOAD_OK)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		best = s < best ? s : best;
	}
	region_fini(&R);
	return best;
}

#define FLOOD_N	16384

static int colliding_names_load_in_linear_time(void)
{
	char (*names)[PDMA_NAME_MAX] = calloc(FLOOD_N, PDMA_NAME_MAX);
	double flood, plain;
	u32 i;

	ASSERT_TRUE(names != NULL);
	for (i = 0; i < FLOOD_N; i++)
		snprintf(names[i], PDMA_NAME_MAX, "plain/%u", i);
	plain = load_seconds(names, FLOOD_N);
	v1_colliding_names(names, FLOOD_N);
	flood = load_seconds(names, FLOOD_N);
	free(names);
	ASSERT_TRUE(plain > 0 && flood > 0);
	printf("# %u names: %.4f s plain, %.4f s built to collide\n", FLOOD_N, plain, flood);
	/* Quadratic would be ~FLOOD_N / 2 times slower; allow noise only. */
	if (flood > 4 * plain + 0.05)
		TEST_FAIL("flooded load %.4f s vs %.4f s", flood, plain);
	return 0;
}

static int crc32c_implementations_agree(void)
{
	static const char check[] = "123456789";
	static u8 buf[8192 + 16];
	u64 seed = 3;
	size_t off, len;
	u32 sw, hw;
	int t;

	/* The standard CRC-32C check value. */
	ASSERT_EQ(0xe3069283U, ~pdma_crc32c_sw(~0U, check, 9));
	ASSERT_EQ(0xe3069283U, ~pdma_crc32c_hw(~0U, check, 9));
	ASSERT_EQ(0xe3069283U, ~pdma_crc32c(~0U, check, 9));
	/* The kernel's own lib/crc32.c, what crc32c() falls back to. */
	ASSERT_EQ(0xe3069283U, ~__crc32c_le(~0U, (const u8 *)check, 9));
	if (!pdma_crc32c_have_hw())
		TEST_FAIL("this CPU has no SSE4.2: the hardware path is untested");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd_next(&seed);
	/* Every alignment and tail length, and chained calls. */
	for (t = 0; t < 20000; t++) {
		off = rnd_next(&seed) % 16;
		len = rnd_next(&seed) % 8192;
		sw = pdma_crc32c_sw(~0U, buf + off, len);
		hw = pdma_crc32c_hw(~0U, buf + off, len);
		ASSERT_EQ(sw, hw);
		ASSERT_EQ(sw, __crc32c_le(~0U, buf + off, len));
		hw = pdma_crc32c_hw(pdma_crc32c_hw(~0U, buf + off, len / 3),
				    buf + off + len / 3, len - len / 3);
		ASSERT_EQ(sw, hw);
	}
	return 0;
}

static const struct test_case tests[] = {
	TEST(crc32c_implementations_agree, "Expect the SSE4.2, slice-by-8 and kernel lib/crc32.c CRC32C to give the check value 0xe3069283 and agree on 20k buffers of every alignment and length, also chained."),
	TEST(reserve_stores_nothing, "Expect a reservation to store nothing, keep its pages from other callers, and leave no trace at the next load."),
	TEST(publish_records_the_reserved_extent, "Expect publishing a reservation to record exactly that extent, in one commit that loads back."),
	TEST(publish_rechecks_the_name, "Expect publishing under a name taken meanwhile to fail with -EEXIST without a store, and unreserving to restore the free space."),
	TEST(unreserve_gives_the_extent_back, "Expect unreserving to restore the free bytes and the largest extent exactly."),
	TEST(generation_at_limit_rejected_at_load, "Expect a CRC-valid copy with a generation of 2^63 or more to be rejected as BAD_HEADER, so it never beats the other copy."),
	TEST(commits_refused_at_the_generation_limit, "Expect every mutation to fail with -EOVERFLOW and no store once the generation is 2^63 - 1, and the table to still load."),
	TEST(capacity_from_copy_b_when_a_is_hit, "Expect a bit flip in copy A's capacity to make the probe take copy B's capacity, and the load to use B."),
	TEST(capacity_needs_a_crc_valid_copy, "Expect no capacity from headers that fail their CRC, such as magic plus a huge capacity in an empty region."),
	TEST(region_limit_is_exclusive, "Expect a region of exactly PDMA_CORE_MAX_REGION to be rejected, one page less accepted."),
	TEST(colliding_names_load_in_linear_time, "Expect 16384 names built to collide under the v1 hash to load within 4x the time of plain names."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_hardening", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
