// SPDX-License-Identifier: GPL-2.0
/*
 * Torn-write test of the commit protocol.
 *
 * A scripted history (format, allocs, frees, claims, adoptions) is played
 * step by step. For every step, the step is replayed from the bytes the
 * region held before it, with a crash simulated at every store k of its
 * commit: store k and all later ones are lost, or only the first half of
 * store k lands. A fresh core then loads the bytes, like the next kernel
 * would, and its state (entries, generation, adopt count, free space)
 * must be exactly the state before the step or exactly the state after
 * it, for every k. With the CRC stored last it is in fact always the old
 * state until the last store, and the new one after it, which the test
 * checks too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_common.h"

enum op { FORMAT, ALLOC, FREE, CLAIM, ADOPT };

struct step {
	enum op op;
	const char *name;
	u64 size;
	u64 align;
};

static const struct step script[] = {
	{ .op = FORMAT },
	{ .op = ALLOC, .name = "a", .size = 4096, .align = 0 },
	{ .op = ALLOC, .name = "b", .size = 65536, .align = 65536 },
	{ .op = ALLOC, .name = "c", .size = 8192, .align = 0 },
	{ .op = FREE, .name = "b" },
	{ .op = ALLOC, .name = "d", .size = 12288, .align = 0 },
	{ .op = CLAIM, .name = "a" },	/* allocated: no commit */
	{ .op = ADOPT },
	{ .op = CLAIM, .name = "a" },	/* preserved -> claimed */
	{ .op = FREE, .name = "c" },	/* preserved */
	{ .op = ALLOC, .name = "e", .size = 1 << 20, .align = 1 << 20 },
	{ .op = ALLOC, .name = "f", .size = 4096, .align = 0 },
	{ .op = ALLOC, .name = "g", .size = 4096, .align = 0 },
	{ .op = ALLOC, .name = "h", .size = 4096, .align = 0 },
	/* fills the last slot */
	{ .op = ALLOC, .name = "i", .size = 4096, .align = 0 },
	{ .op = ADOPT },
	{ .op = FREE, .name = "a" },
	{ .op = CLAIM, .name = "e" },
	{ .op = FREE, .name = "d" },
	{ .op = FREE, .name = "e" },
};

#define CAPACITY	8

static struct region R;
static unsigned long nr_old, nr_new, nr_runs;

static int run_step(const struct step *s)
{
	switch (s->op) {
	case FORMAT:
		return pdma_core_format(R.core);
	case ALLOC:
		return pdma_core_alloc(R.core, N("%s", s->name), s->size,
				       s->align, 0, NULL);
	case FREE:
		return pdma_core_free(R.core, N("%s", s->name));
	case CLAIM:
		return pdma_core_claim(R.core, N("%s", s->name), NULL);
	case ADOPT:
		return pdma_core_adopt(R.core);
	}
	return -1;
}

/* Load the region bytes into a fresh core and describe its state. */
static int load_state(struct snapshot *snap, enum pdma_load_result *res)
{
	*res = region_load(&R, NULL);
	if (*res != PDMA_LOAD_OK && *res != PDMA_LOAD_EMPTY)
		return -1;
	if (snapshot_take(R.core, snap))
		return -1;
	return 0;
}

static int same(const struct snapshot *a, enum pdma_load_result ra,
		const struct snapshot *b, enum pdma_load_result rb)
{
	if (ra != rb)
		return 0;
	int differ;

	/* Which copy is current is not part of the logical state. */
	snapshot_quiet = 1;
	differ = snapshot_cmp(a, b, false);
	snapshot_quiet = 0;
	return !differ;
}

/* Back to the bytes @before, loaded; the next commit crashes at store @k. */
static void arm_crash(const u8 *before, size_t bytes, unsigned long k,
		      unsigned int mode)
{
	memcpy(R.mem, before, bytes);
	region_load(&R, NULL);
	R.stores = 0;
	R.crash_at = k;
	R.crash_mode = mode;
	R.crashed = false;
}

static int torn_commits(void)
{
	size_t bytes;
	u8 *before = NULL, *after = NULL;
	struct snapshot old = {0}, new = {0}, got = {0};
	enum pdma_load_result r_old, r_new, r_got;
	unsigned int i, mode;
	unsigned long k, n;
	int ret = 1;

	if (region_init(&R, 0x80000000ULL, 16 * SZ_1M, CAPACITY))
		TEST_FAIL("setup");
	bytes = R.lay.data_offset;
	before = malloc(bytes);
	after = malloc(bytes);
	if (!before || !after)
		goto out;

	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		const struct step *s = &script[i];

		/* The state before the step, as the next kernel sees it. */
		memcpy(before, R.mem, bytes);
		if (load_state(&old, &r_old))
			goto fail;

		/* The step, uninterrupted, gives the new state. */
		R.stores = 0;
		if (run_step(s)) {
			fprintf(stderr, "  step %u failed\n", i);
			goto fail;
		}
		n = R.stores;
		memcpy(after, R.mem, bytes);
		if (load_state(&new, &r_new))
			goto fail;

		for (k = 0; k <= n; k++) {
			for (mode = CRASH_DROP; mode <= CRASH_HALF; mode++) {
				if (mode == CRASH_HALF && k == n)
					continue;
				arm_crash(before, bytes, k, mode);
				if (run_step(s))
					goto fail;
				R.crash_at = -1;
				R.crashed = false;
				if (load_state(&got, &r_got)) {
					fprintf(stderr, "  step %u crash at %lu/%lu mode %u: load %d\n",
						i, k, n, mode, r_got);
					goto fail;
				}
				nr_runs++;
				if (same(&got, r_got, &old, r_old) && k < n) {
					nr_old++;
				} else if (same(&got, r_got, &new, r_new) &&
					   (k == n || same(&old, r_old, &new, r_new))) {
					nr_new++;
				} else {
					fprintf(stderr, "  step %u crash at %lu/%lu mode %u: neither the expected old nor new state\n",
						i, k, n, mode);
					goto fail;
				}
				snapshot_free(&got);
			}
		}
		/* Go on from the completed step. */
		memcpy(R.mem, after, bytes);
		snapshot_free(&old);
		snapshot_free(&new);
		if (region_load(&R, NULL) != PDMA_LOAD_OK)
			goto fail;
	}
	if (test_verbose)
		printf("# %lu crash runs: %lu old state, %lu new state\n",
		       nr_runs, nr_old, nr_new);
	ret = 0;
	goto out;
fail:
	ret = 1;
out:
	snapshot_free(&old);
	snapshot_free(&new);
	snapshot_free(&got);
	free(before);
	free(after);
	region_fini(&R);
	return ret;
}

/* One step of the random history, chosen by @pick; failures are fine. */
static void random_step(const char *nm, u64 pick)
{
	int op = (pick >> 8) % 10;

	if (op < 5)
		pdma_core_alloc(R.core, nm, 4096 * (1 + (pick >> 16) % 64),
				4096ULL << ((pick >> 24) % 6), 0, NULL);
	else if (op < 8)
		pdma_core_free(R.core, nm);
	else if (op < 9)
		pdma_core_claim(R.core, nm, NULL);
	else
		pdma_core_adopt(R.core);
}

/* Same with a larger random history: every commit of 200 random steps. */
static int torn_random_history(void)
{
	struct snapshot old = {0}, got = {0}, new = {0};
	enum pdma_load_result r;
	u8 *before = NULL, *after = NULL;
	u64 rs = 0x70e2a11ULL;
	unsigned long k, n;
	size_t bytes;
	int i, ret = 1;

	if (region_init(&R, 0x80000000ULL + 0x3000, 8 * SZ_1M, 32) ||
	    region_format(&R))
		TEST_FAIL("setup");
	bytes = R.lay.data_offset;
	before = malloc(bytes);
	after = malloc(bytes);
	if (!before || !after)
		goto out;
	for (i = 0; i < 200; i++) {
		u64 pick = rnd_next(&rs);
		const char *name = N("r%llu", (unsigned long long)(pick % 40));
		char nm[PDMA_NAME_MAX];

		memcpy(nm, name, sizeof(nm));
		memcpy(before, R.mem, bytes);
		if (snapshot_take(R.core, &old))
			goto out;
		R.stores = 0;
		random_step(nm, pick);
		n = R.stores;
		memcpy(after, R.mem, bytes);
		if (snapshot_take(R.core, &new))
			goto out;
		/* Only crash points that matter: each store, half stores. */
		for (k = 0; k < n; k++) {
			unsigned int mode;

			for (mode = CRASH_DROP; mode <= CRASH_HALF; mode++) {
				arm_crash(before, bytes, k, mode);
				random_step(nm, pick);
				R.crash_at = -1;
				R.crashed = false;
				r = region_load(&R, NULL);
				if (r != PDMA_LOAD_OK || snapshot_take(R.core, &got) ||
				    snapshot_cmp(&got, &old, false)) {
					fprintf(stderr, "  op %d crash at %lu/%lu mode %u: not the old state\n",
						i, k, n, mode);
					goto out;
				}
				snapshot_free(&got);
				nr_runs++;
			}
		}
		memcpy(R.mem, after, bytes);
		if (region_load(&R, NULL) != PDMA_LOAD_OK ||
		    snapshot_take(R.core, &got) || snapshot_cmp(&got, &new, false))
			goto out;
		snapshot_free(&got);
		snapshot_free(&old);
		snapshot_free(&new);
	}
	ret = 0;
out:
	snapshot_free(&old);
	snapshot_free(&new);
	snapshot_free(&got);
	free(before);
	free(after);
	region_fini(&R);
	return ret;
}

static const struct test_case tests[] = {
	TEST(torn_commits, "Expect a crash at any store of format, alloc, free, claim or adopt to load as exactly the old or the new state."),
	TEST(torn_random_history, "Expect the same for every commit of a 200-step random history."),
};

int main(int argc, char **argv)
{
	return test_run_all("test_torn", tests,
			    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
