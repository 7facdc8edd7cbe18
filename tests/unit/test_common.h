/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the pdma core unit tests, in the spirit of
 * tools/testing/memblock: one behaviour per test function, an "Expect"
 * sentence per test, and ASSERT_*() macros that report the expression and
 * both values, then fail the current test (the other tests still run).
 *
 * A test binary exits 0 if every test passed, 1 if one failed, 77 if it
 * was skipped. It prints "ok"/"not ok" per test and a "# name: N tests, N
 * failures" trailer that tests/unit/run_tests.sh adds up.
 */
#ifndef _PDMA_TEST_COMMON_H
#define _PDMA_TEST_COMMON_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include "pdma_core.h"

#define SZ_4K	0x1000ULL
#define SZ_64K	0x10000ULL
#define SZ_1M	0x100000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL

extern int test_verbose;
/* Set to make snapshot_cmp() silent when a mismatch is expected. */
extern int snapshot_quiet;

#define TEST_FAIL(fmt, ...) do {					\
	fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__,	\
		##__VA_ARGS__);						\
	return 1;							\
} while (0)

#define ASSERT_OP(_exp, _op, _seen) do {				\
	long long __e = (long long)(_exp), __s = (long long)(_seen);	\
	if (!(__e _op __s))						\
		TEST_FAIL("ASSERT(%s %s %s): %lld vs %lld (0x%llx vs 0x%llx)", \
			  #_exp, #_op, #_seen, __e, __s,		\
			  (unsigned long long)__e, (unsigned long long)__s); \
} while (0)

#define ASSERT_EQ(_exp, _seen)	ASSERT_OP(_exp, ==, _seen)
#define ASSERT_NE(_exp, _seen)	ASSERT_OP(_exp, !=, _seen)
#define ASSERT_LT(_exp, _seen)	ASSERT_OP(_exp, <, _seen)
#define ASSERT_LE(_exp, _seen)	ASSERT_OP(_exp, <=, _seen)
#define ASSERT_TRUE(_seen)	ASSERT_EQ(1, !!(_seen))
#define ASSERT_FALSE(_seen)	ASSERT_EQ(0, !!(_seen))
/* Run a helper returning 0 or non-zero (it printed why). */
#define CHECK(_call) do {						\
	if (_call)							\
		TEST_FAIL("%s failed", #_call);				\
} while (0)

struct test_case {
	const char *name;
	int (*fn)(void);
	const char *expect;
};

#define TEST(_fn, _expect) { #_fn, _fn, _expect }

int test_run_all(const char *prog, const struct test_case *tests, int nr,
		 int argc, char **argv);

/*
 * A simulated region: only the table area exists in memory, the data area
 * is never touched by the core, so regions of any size cost nothing.
 * Every store of the core lands in region_write(), which counts stores
 * and can simulate a crash at store k (dropping it and all later ones, or
 * applying only its first half).
 */
struct wlog {
	u64 off;
	size_t len;
};

enum crash_mode {
	CRASH_DROP,		/* store k and later are lost */
	CRASH_HALF,		/* first half of store k lands, later are lost */
};

struct region {
	u64 base;
	u64 size;
	u32 capacity;
	struct pdma_layout lay;
	u8 *mem;
	unsigned long stores;
	long crash_at;		/* -1: never */
	enum crash_mode crash_mode;
	bool crashed;
	bool bounds_error;
	struct wlog log[16];
	struct pdma_core *core;
};

extern const struct pdma_core_ops region_ops;

int region_init(struct region *r, u64 base, u64 size, u32 capacity);
void region_fini(struct region *r);
/* (Re)create the core over the region bytes and load; returns the result. */
enum pdma_load_result region_load(struct region *r,
				  struct pdma_load_report *rep);
/* Fresh format of a zeroed region; 0 or -1. */
int region_format(struct region *r);
/* Core over a byte copy of @r, with another base/size/capacity. */
int region_clone_config(struct region *dst, const struct region *src,
			u64 base, u64 size, u32 capacity);

/* A padded PDMA_NAME_MAX buffer for @s; a few calls can be in flight. */
const char *N(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Complete logical state of a core, for exact comparisons. */
struct snapshot {
	struct pdma_core_info info;
	u32 nr;
	struct pdma_core_entry *ent;	/* nr entries in slot order */
};

bool entry_eq(const struct pdma_core_entry *a,
	      const struct pdma_core_entry *b);
int snapshot_take(struct pdma_core *core, struct snapshot *s);
void snapshot_free(struct snapshot *s);
/* 0 if equal, else prints the first difference and returns 1. */
int snapshot_cmp(const struct snapshot *a, const struct snapshot *b,
		 bool with_copy);

/* Recompute the CRC of copy @copy in place, after a deliberate edit. */
void reseal(struct region *r, int copy);
struct pdma_table_header *hdr_of(struct region *r, int copy);
struct pdma_table_entry *ent_of(struct region *r, int copy, u32 slot);

/* xorshift64*, reproducible everywhere. */
static inline u64 rnd_next(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static inline u64 rnd_range(u64 *s, u64 lo, u64 hi)
{
	return lo + rnd_next(s) % (hi - lo + 1);
}

#endif /* _PDMA_TEST_COMMON_H */
