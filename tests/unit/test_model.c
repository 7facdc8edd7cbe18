// SPDX-License-Identifier: GPL-2.0
/*
 * Model-based random test of the pdma core.
 *
 * Random allocs (random size, alignment, name, sometimes invalid), frees,
 * claims, lookups and occasional reloads from the region bytes (half of
 * them followed by an adoption) run against the core and against a
 * trivial reference model: an unsorted array of live entries, with
 * address-ordered first fit computed by brute force over the gaps. Every result must match the
 * model exactly (errno, offset, size, alignment, generation), and after
 * every operation the core must hold exactly the model's entries, with no
 * overlap, everything inside the data area, exact free-byte accounting
 * and the right largest free extent.
 *
 * Usage: test_model [-v] [--seed N] [--ops N]. The seed is printed so a
 * failure can be replayed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_common.h"

struct m_ent {
	char name[PDMA_NAME_MAX];
	u64 off;
	u64 size;
	u64 align;
	u64 cgen;
	u32 flags;
	u32 state;
};

struct model {
	struct m_ent *ent;
	u32 nr;
	u32 cap;
	u64 gen;
	u32 adopt;
};

static u64 seed = 0x5eed0f9d3a1c2b47ULL;
static unsigned long nr_ops = 100000;
static struct region R;
static struct model M;
static u64 rs;			/* random state */
static unsigned long stat_reload, stat_alloc[6];	/* 0, INVAL..NOMEM */

static int m_find(const char *name)
{
	u32 i;

	for (i = 0; i < M.nr; i++)
		if (!memcmp(M.ent[i].name, name, PDMA_NAME_MAX))
			return i;
	return -1;
}

static int cmp_off(const void *a, const void *b)
{
	const struct m_ent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* First fit by brute force: the lowest gap that fits aligned. */
static int m_first_fit(u64 size, u64 align, u64 *off, u64 *largest)
{
	u64 pos = R.lay.data_offset, gap, pad, end;
	bool found = false;
	u32 i;

	qsort(M.ent, M.nr, sizeof(M.ent[0]), cmp_off);
	*largest = 0;
	for (i = 0; i <= M.nr; i++) {
		end = i < M.nr ? M.ent[i].off : R.size;
		gap = end - pos;
		if (gap > *largest)
			*largest = gap;
		pad = (0 - (R.base + pos)) & (align - 1);
		if (gap && pad < gap && gap - pad >= size && !found) {
			found = true;
			*off = pos + pad;
		}
		if (i < M.nr)
			pos = M.ent[i].off + M.ent[i].size;
	}
	return found ? 0 : -ENOMEM;
}

static int check_state(void)
{
	struct pdma_core_info info;
	struct pdma_core_entry e;
	u64 used = 0, largest, dummy, pos;
	u32 cursor = 0, n = 0, i;
	int k;

	pdma_core_info(R.core, &info);
	if (info.state != PDMA_CORE_LIVE || info.generation != M.gen ||
	    info.adopt_count != M.adopt || info.nr_entries != M.nr)
		TEST_FAIL("info: state %d gen %llu/%llu adopt %u/%u nr %u/%u",
			  info.state, (unsigned long long)info.generation,
			  (unsigned long long)M.gen, info.adopt_count, M.adopt,
			  info.nr_entries, M.nr);
	/* Same number of entries and every model entry in the core: equal. */
	while (!pdma_core_next_entry(R.core, &cursor, &e))
		n++;
	if (n != M.nr)
		TEST_FAIL("core has %u entries, model %u", n, M.nr);
	for (k = 0; k < (int)M.nr; k++) {
		if (pdma_core_lookup(R.core, M.ent[k].name, &e))
			TEST_FAIL("model has %s, core does not", M.ent[k].name);
		if (e.offset != M.ent[k].off || e.size != M.ent[k].size ||
		    e.align != M.ent[k].align || e.state != M.ent[k].state ||
		    e.create_gen != M.ent[k].cgen || e.flags != M.ent[k].flags)
			TEST_FAIL("entry %s differs from the model", e.name);
	}
	m_first_fit(U64_MAX, PDMA_PAGE_SIZE, &dummy, &largest);
	pos = R.lay.data_offset;
	for (i = 0; i < M.nr; i++) {
		/* Sorted by m_first_fit(): in range and no overlap. */
		if (M.ent[i].off < pos || M.ent[i].off + M.ent[i].size > R.size ||
		    (R.base + M.ent[i].off) % M.ent[i].align)
			TEST_FAIL("entry %s out of place", M.ent[i].name);
		pos = M.ent[i].off + M.ent[i].size;
		used += M.ent[i].size;
	}
	if (info.free_bytes != R.size - R.lay.data_offset - used)
		TEST_FAIL("free bytes %llu, expected %llu",
			  (unsigned long long)info.free_bytes,
			  (unsigned long long)(R.size - R.lay.data_offset - used));
	if (info.largest_free != largest)
		TEST_FAIL("largest free %llu, expected %llu",
			  (unsigned long long)info.largest_free,
			  (unsigned long long)largest);
	if (pdma_core_verify(R.core))
		TEST_FAIL("pdma_core_verify failed");
	return 0;
}

static void random_name(char *name)
{
	memset(name, 0, PDMA_NAME_MAX);
	switch (rnd_next(&rs) % 200) {
	case 0:
		return;				/* empty */
	case 1:
		memset(name, 'u', PDMA_NAME_MAX);	/* unterminated */
		return;
	case 2:
		strcpy(name, "pad");
		name[5 + rnd_next(&rs) % 58] = 'j';	/* junk after NUL */
		return;
	default:
		/* More names than slots, so that the table fills up. */
		snprintf(name, PDMA_NAME_MAX, "obj-%llu-%s",
			 (unsigned long long)(rnd_next(&rs) % (M.cap * 5 / 2)),
			 rnd_next(&rs) % 4 ? "x" :
			 "a-rather-long-name-to-use-more-of-the-64-bytes");
	}
}

static bool name_valid(const char *name)
{
	size_t len = strnlen(name, PDMA_NAME_MAX);
	size_t i;

	if (!len || len == PDMA_NAME_MAX)
		return false;
	for (i = len; i < PDMA_NAME_MAX; i++)
		if (name[i])
			return false;
	return true;
}

static int op_alloc(void)
{
	char name[PDMA_NAME_MAX];
	struct pdma_core_entry e;
	u64 size, align, req_align, rsize, off = 0, largest;
	u32 flags = rnd_next(&rs) % 2 ? PDMA_ALLOC_ZERO : 0;
	u64 r = rnd_next(&rs) % 1000;
	int ret, want;

	random_name(name);
	if (r < 700)
		size = rnd_range(&rs, 1, 64 * 1024);
	else if (r < 950)
		size = rnd_range(&rs, 64 * 1024, SZ_1M);
	else if (r < 995)
		size = rnd_range(&rs, SZ_1M, 16 * SZ_1M);
	else if (r < 998)
		size = 0;
	else
		size = U64_MAX - rnd_next(&rs) % 8192;
	r = rnd_next(&rs) % 1000;
	if (r < 650)
		req_align = 0;
	else if (r < 980)
		req_align = 1ULL << rnd_range(&rs, 12, 24);
	else if (r < 990)
		req_align = SZ_1G;
	else
		req_align = rnd_next(&rs) % (1ULL << 31);	/* mostly bad */
	if (rnd_next(&rs) % 500 == 0)
		flags = 1U << rnd_range(&rs, 1, 31);

	rsize = (size + 4095) & ~4095ULL;
	align = req_align ? req_align : 4096;
	if (!size || size > U64_MAX - 4095 || align < 4096 ||
	    align > SZ_1G || (align & (align - 1)) ||
	    (flags & ~PDMA_ALLOC_FLAGS_ALL) || !name_valid(name) ||
	    rsize > R.size - R.lay.data_offset)
		want = -EINVAL;
	else if (m_find(name) >= 0)
		want = -EEXIST;
	else if (M.nr == M.cap)
		want = -ENOSPC;
	else
		want = m_first_fit(rsize, align, &off, &largest);

	ret = pdma_core_alloc(R.core, name, size, req_align, flags, &e);
	stat_alloc[ret == 0 ? 0 : ret == -EINVAL ? 1 : ret == -EEXIST ? 2 :
		   ret == -ENOSPC ? 3 : ret == -ENOMEM ? 4 : 5]++;
	if (ret != want)
		TEST_FAIL("alloc %s size %llu align %llu flags %x: %d, want %d",
			  name, (unsigned long long)size,
			  (unsigned long long)align, flags, ret, want);
	if (ret)
		return 0;
	if (e.offset != off || e.size != rsize || e.align != align ||
	    e.create_gen != M.gen + 1 || e.state != PDMA_ENTRY_ALLOCATED ||
	    e.id >= M.cap)
		TEST_FAIL("alloc %s: off %llu want %llu", name,
			  (unsigned long long)e.offset,
			  (unsigned long long)off);
	M.gen++;
	memcpy(M.ent[M.nr].name, name, PDMA_NAME_MAX);
	M.ent[M.nr].off = off;
	M.ent[M.nr].size = rsize;
	M.ent[M.nr].align = align;
	M.ent[M.nr].cgen = M.gen;
	M.ent[M.nr].flags = flags;
	M.ent[M.nr].state = PDMA_ENTRY_ALLOCATED;
	M.nr++;
	return 0;
}

/* A live name most of the time, an unknown one sometimes. */
static int pick(char *name)
{
	memset(name, 0, PDMA_NAME_MAX);
	if (M.nr && rnd_next(&rs) % 20) {
		int k = rnd_next(&rs) % M.nr;

		memcpy(name, M.ent[k].name, PDMA_NAME_MAX);
		return k;
	}
	snprintf(name, PDMA_NAME_MAX, "missing-%llu",
		 (unsigned long long)(rnd_next(&rs) % 10));
	return -1;
}

static int op_free(void)
{
	char name[PDMA_NAME_MAX];
	int k = pick(name), ret;

	ret = pdma_core_free(R.core, name);
	if (ret != (k < 0 ? -ENOENT : 0))
		TEST_FAIL("free %s: %d", name, ret);
	if (k >= 0) {
		M.ent[k] = M.ent[--M.nr];
		M.gen++;
	}
	return 0;
}

static int op_claim(void)
{
	char name[PDMA_NAME_MAX];
	struct pdma_core_entry e;
	int k = pick(name), ret;

	ret = pdma_core_claim(R.core, name, &e);
	if (ret != (k < 0 ? -ENOENT : 0))
		TEST_FAIL("claim %s: %d", name, ret);
	if (k >= 0 && M.ent[k].state == PDMA_ENTRY_PRESERVED) {
		M.ent[k].state = PDMA_ENTRY_CLAIMED;
		M.gen++;
	}
	if (k >= 0 && e.state != M.ent[k].state)
		TEST_FAIL("claim %s: state %u", name, e.state);
	return 0;
}

static int op_reload(void)
{
	struct snapshot a, b;
	int ret = 0;

	stat_reload++;
	if (snapshot_take(R.core, &a))
		TEST_FAIL("snapshot");
	if (region_load(&R, NULL) != PDMA_LOAD_OK)
		TEST_FAIL("reload failed");
	if (snapshot_take(R.core, &b))
		TEST_FAIL("snapshot");
	if (snapshot_cmp(&a, &b, true))
		ret = 1;
	snapshot_free(&a);
	snapshot_free(&b);
	if (ret)
		TEST_FAIL("reload changed the state");
	if (rnd_next(&rs) % 2) {
		u32 i;

		if (pdma_core_adopt(R.core))
			TEST_FAIL("adopt failed");
		for (i = 0; i < M.nr; i++)
			if (M.ent[i].state != PDMA_ENTRY_PRESERVED)
				M.ent[i].state = PDMA_ENTRY_PRESERVED;
		M.adopt++;
		M.gen++;
	}
	return 0;
}

static int run_model(u64 base, u64 size, u32 cap, unsigned long ops)
{
	unsigned long i;
	u64 r;
	int ret;

	rs = seed ^ base ^ cap;
	if (!rs)
		rs = 1;
	memset(&M, 0, sizeof(M));
	M.cap = cap;
	M.gen = 1;
	M.ent = calloc(cap, sizeof(*M.ent));
	if (!M.ent || region_init(&R, base, size, cap) || region_format(&R))
		TEST_FAIL("setup");
	for (i = 0; i < ops; i++) {
		r = rnd_next(&rs) % 1000;
		if (r < 550)
			ret = op_alloc();
		else if (r < 870)
			ret = op_free();
		else if (r < 990)
			ret = op_claim();
		else
			ret = op_reload();
		if (!ret)
			ret = check_state();
		if (ret) {
			fprintf(stderr, "  at op %lu, seed 0x%llx\n", i,
				(unsigned long long)seed);
			return 1;
		}
	}
	if (test_verbose)
		printf("# %lu ops, %lu reloads, %u live at the end, gen %llu; allocs: %lu ok, %lu EINVAL, %lu EEXIST, %lu ENOSPC, %lu ENOMEM\n",
		       ops, stat_reload, M.nr, (unsigned long long)M.gen,
		       stat_alloc[0], stat_alloc[1], stat_alloc[2],
		       stat_alloc[3], stat_alloc[4]);
	memset(stat_alloc, 0, sizeof(stat_alloc));
	stat_reload = 0;
	free(M.ent);
	region_fini(&R);
	return 0;
}

/* 64 MiB at 8G + 20K: alignments up to 16M and 1G hit and miss. */
static int model_small_region(void)
{
	return run_model(0x200005000ULL, 64 * SZ_1M, 128, nr_ops);
}

/* A larger table: full-table -ENOSPC and deeper trees. */
static int model_large_table(void)
{
	return run_model(0x7ff000000ULL, 4 * SZ_1G, 512, nr_ops / 5);
}

static const struct test_case tests[] = {
	TEST(model_small_region, "Expect every result of 100k random operations to match the reference model, and the state to match it after each."),
	TEST(model_large_table, "Expect the same with a 512-slot table over 4 GiB."),
};

int main(int argc, char **argv)
{
	int i, n = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			nr_ops = strtoul(argv[++i], NULL, 0);
		else
			argv[n++] = argv[i];
	}
	printf("# test_model: seed 0x%llx, %lu ops\n",
	       (unsigned long long)seed, nr_ops);
	return test_run_all("test_model", tests,
			    sizeof(tests) / sizeof(tests[0]), n, argv);
}
