// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark (a): the pdma free-extent allocator (pdma_extents_alloc() and
 * pdma_extents_free() of kmod/pdma_alloc.c, the allocator only: no table
 * commit, no name hash) against a faithful small reimplementation of
 * lib/genalloc.c with its default gen_pool_first_fit() algorithm (one
 * chunk, a bitmap with one bit per 4 KiB page, bitmap_find_next_zero_area()
 * over find_next_zero_bit()/find_next_bit(), bitmap_set_ll() and
 * bitmap_clear_ll() with cmpxchg), on the same trace.
 *
 * Trace: 4096 allocations, then 100000 steady-state operations that free a
 * random live allocation or allocate a new one, keeping 4096 +- 64 live;
 * sizes uniform in 4 KiB .. 256 KiB (page multiples); a 2 GiB data area.
 *
 * usage: bench_alloc ours|genalloc   run the trace on one allocator
 *        bench_alloc time            both, natively, with wall-clock times
 *
 * Under callgrind, --toggle-collect=bench_ours_* / bench_gp_* counts the
 * instructions inside the allocator calls only (trace generation and the
 * loop are excluded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pdma_core.h"

#define LIVE		4096
#define STEADY_OPS	100000
#define DATA_SIZE	(2ULL << 30)
#define DATA_START	(1ULL << 20)
#define PAGE		4096ULL
#define NOINLINE	__attribute__((__noinline__))

struct top {
	u32 id;
	u32 pages;	/* 0: free */
};

static struct top *trace;
static u32 *id_pages;		/* size of each allocation, in pages */
static u32 nr_trace, nr_ids;

static u64 rnd(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void make_trace(void)
{
	u32 *live = malloc((LIVE + 128) * sizeof(*live)), nr_live = 0, i, k;
	u64 s = 0xbe7c4;

	trace = malloc((LIVE + STEADY_OPS) * sizeof(*trace));
	id_pages = malloc((LIVE + STEADY_OPS) * sizeof(*id_pages));
	if (!live || !trace || !id_pages)
		exit(1);
	for (i = 0; i < LIVE + STEADY_OPS; i++) {
		bool do_alloc;

		if (i < LIVE || nr_live <= LIVE - 64)
			do_alloc = true;
		else if (nr_live >= LIVE + 64)
			do_alloc = false;
		else
			do_alloc = rnd(&s) & 1;
		if (do_alloc) {
			trace[nr_trace].id = nr_ids;
			trace[nr_trace].pages = 1 + rnd(&s) % 64;
			id_pages[nr_ids] = trace[nr_trace].pages;
			live[nr_live++] = nr_ids++;
		} else {
			k = rnd(&s) % nr_live;
			trace[nr_trace].id = live[k];
			trace[nr_trace].pages = 0;
			live[k] = live[--nr_live];
		}
		nr_trace++;
	}
	free(live);
}

/* ---- ours ---- */

static struct pdma_extents ex;

NOINLINE int bench_ours_alloc(u64 size, u64 *off)
{
	return pdma_extents_alloc(&ex, size, PAGE, off);
}

NOINLINE int bench_ours_free(u64 off, u64 size)
{
	return pdma_extents_free(&ex, off, size);
}

static void ours_init(void)
{
	u32 nodes = 2 * (LIVE + 128);
	struct pdma_extent *pool = calloc(nodes, sizeof(*pool));

	if (!pool)
		exit(1);
	pdma_extents_init(&ex, pool, nodes, 0x100000000ULL,
			  DATA_START, DATA_START + DATA_SIZE);
}

/* ---- genalloc, as in lib/genalloc.c and lib/find_bit.c ---- */

#define BITS_PER_LONG	64
#define BIT_WORD(nr)	((nr) / BITS_PER_LONG)
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))
#define __ALIGN_MASK(x, mask)	(((x) + (mask)) & ~(mask))

struct gen_pool_chunk {
	long avail;
	unsigned long start_addr;
	unsigned long end_addr;
	unsigned long *bits;
};

struct gen_pool {
	struct gen_pool_chunk chunk;	/* the pool has exactly one chunk */
	int min_alloc_order;
};

static struct gen_pool gp;

static unsigned long find_next_bit(const unsigned long *addr,
				   unsigned long size, unsigned long start)
{
	unsigned long mask, idx, tmp, sz = size;

	if (start >= sz)
		return sz;
	mask = BITMAP_FIRST_WORD_MASK(start);
	idx = start / BITS_PER_LONG;
	for (tmp = addr[idx] & mask; !tmp; tmp = addr[idx]) {
		if ((idx + 1) * BITS_PER_LONG >= sz)
			return sz;
		idx++;
	}
	tmp = idx * BITS_PER_LONG + __builtin_ctzl(tmp);
	return tmp < sz ? tmp : sz;
}

static unsigned long find_next_zero_bit(const unsigned long *addr,
					unsigned long size,
					unsigned long start)
{
	unsigned long mask, idx, tmp, sz = size;

	if (start >= sz)
		return sz;
	mask = BITMAP_FIRST_WORD_MASK(start);
	idx = start / BITS_PER_LONG;
	for (tmp = ~addr[idx] & mask; !tmp; tmp = ~addr[idx]) {
		if ((idx + 1) * BITS_PER_LONG >= sz)
			return sz;
		idx++;
	}
	tmp = idx * BITS_PER_LONG + __builtin_ctzl(tmp);
	return tmp < sz ? tmp : sz;
}

static unsigned long bitmap_find_next_zero_area_off(unsigned long *map,
						    unsigned long size,
						    unsigned long start,
						    unsigned int nr,
						    unsigned long align_mask,
						    unsigned long align_offset)
{
	unsigned long index, end, i;
again:
	index = find_next_zero_bit(map, size, start);
	index = __ALIGN_MASK(index + align_offset, align_mask) - align_offset;
	end = index + nr;
	if (end > size)
		return end;
	i = find_next_bit(map, end, index);
	if (i < end) {
		start = i + 1;
		goto again;
	}
	return index;
}

static unsigned long gen_pool_first_fit(unsigned long *map, unsigned long size,
					unsigned long start, unsigned int nr)
{
	return bitmap_find_next_zero_area_off(map, size, start, nr, 0, 0);
}

static inline int set_bits_ll(unsigned long *addr, unsigned long mask_to_set)
{
	unsigned long val = __atomic_load_n(addr, __ATOMIC_RELAXED);

	do {
		if (val & mask_to_set)
			return -EBUSY;
	} while (!__atomic_compare_exchange_n(addr, &val, val | mask_to_set,
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	return 0;
}

static inline int clear_bits_ll(unsigned long *addr,
				unsigned long mask_to_clear)
{
	unsigned long val = __atomic_load_n(addr, __ATOMIC_RELAXED);

	do {
		if ((val & mask_to_clear) != mask_to_clear)
			return -EBUSY;
	} while (!__atomic_compare_exchange_n(addr, &val, val & ~mask_to_clear,
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	return 0;
}

static unsigned long bitmap_set_ll(unsigned long *map, unsigned long start,
				   unsigned long nr)
{
	unsigned long *p = map + BIT_WORD(start);
	const unsigned long size = start + nr;
	unsigned long bits_to_set = BITS_PER_LONG - (start % BITS_PER_LONG);
	unsigned long mask_to_set = BITMAP_FIRST_WORD_MASK(start);

	while (nr >= bits_to_set) {
		if (set_bits_ll(p, mask_to_set))
			return nr;
		nr -= bits_to_set;
		bits_to_set = BITS_PER_LONG;
		mask_to_set = ~0UL;
		p++;
	}
	if (nr) {
		mask_to_set &= BITMAP_LAST_WORD_MASK(size);
		if (set_bits_ll(p, mask_to_set))
			return nr;
	}
	return 0;
}

static unsigned long bitmap_clear_ll(unsigned long *map, unsigned long start,
				     unsigned long nr)
{
	unsigned long *p = map + BIT_WORD(start);
	const unsigned long size = start + nr;
	unsigned long bits_to_clear = BITS_PER_LONG - (start % BITS_PER_LONG);
	unsigned long mask_to_clear = BITMAP_FIRST_WORD_MASK(start);

	while (nr >= bits_to_clear) {
		if (clear_bits_ll(p, mask_to_clear))
			return nr;
		nr -= bits_to_clear;
		bits_to_clear = BITS_PER_LONG;
		mask_to_clear = ~0UL;
		p++;
	}
	if (nr) {
		mask_to_clear &= BITMAP_LAST_WORD_MASK(size);
		if (clear_bits_ll(p, mask_to_clear))
			return nr;
	}
	return 0;
}

/* gen_pool_alloc_algo_owner() with the one chunk and first fit. */
NOINLINE unsigned long bench_gp_alloc(size_t size)
{
	struct gen_pool_chunk *chunk = &gp.chunk;
	int order = gp.min_alloc_order;
	unsigned long nbits, start_bit, end_bit, remain, addr = 0;

	if (size == 0)
		return 0;
	nbits = (size + (1UL << order) - 1) >> order;
	if ((long)size > __atomic_load_n(&chunk->avail, __ATOMIC_RELAXED))
		return 0;
	start_bit = 0;
	end_bit = (chunk->end_addr - chunk->start_addr + 1) >> order;
retry:
	start_bit = gen_pool_first_fit(chunk->bits, end_bit, start_bit, nbits);
	if (start_bit >= end_bit)
		return 0;
	remain = bitmap_set_ll(chunk->bits, start_bit, nbits);
	if (remain) {
		remain = bitmap_clear_ll(chunk->bits, start_bit, nbits - remain);
		goto retry;
	}
	addr = chunk->start_addr + ((unsigned long)start_bit << order);
	size = nbits << order;
	__atomic_fetch_sub(&chunk->avail, size, __ATOMIC_SEQ_CST);
	return addr;
}

/* gen_pool_free_owner() with the one chunk. */
NOINLINE void bench_gp_free(unsigned long addr, size_t size)
{
	struct gen_pool_chunk *chunk = &gp.chunk;
	int order = gp.min_alloc_order;
	unsigned long start_bit, nbits;

	nbits = (size + (1UL << order) - 1) >> order;
	if (addr >= chunk->start_addr && addr <= chunk->end_addr) {
		start_bit = (addr - chunk->start_addr) >> order;
		if (bitmap_clear_ll(chunk->bits, start_bit, nbits))
			abort();
		size = nbits << order;
		__atomic_fetch_add(&chunk->avail, size, __ATOMIC_SEQ_CST);
		return;
	}
	abort();
}

static void gp_init(void)
{
	gp.min_alloc_order = 12;
	gp.chunk.start_addr = 0x100000000UL + DATA_START;
	gp.chunk.end_addr = gp.chunk.start_addr + DATA_SIZE - 1;
	gp.chunk.avail = DATA_SIZE;
	gp.chunk.bits = calloc(DATA_SIZE / PAGE / BITS_PER_LONG,
			       sizeof(unsigned long));
	if (!gp.chunk.bits)
		exit(1);
}

/* Run the trace on one allocator; returns the number of failures. */
static u32 run(bool ours)
{
	u64 *where = calloc(nr_ids, sizeof(*where));
	u32 i, failed = 0;
	u64 off;

	if (!where)
		exit(1);
	for (i = 0; i < nr_trace; i++) {
		const struct top *t = &trace[i];
		u64 size = id_pages[t->id] * PAGE;

		if (t->pages) {
			if (ours) {
				if (bench_ours_alloc(size, &off))
					off = 0;
			} else {
				off = bench_gp_alloc(size);
			}
			if (!off)
				failed++;
			where[t->id] = off;
		} else if (where[t->id]) {
			if (ours) {
				if (bench_ours_free(where[t->id], size))
					abort();
			} else {
				bench_gp_free(where[t->id], size);
			}
		}
	}
	free(where);
	return failed;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "time";
	u32 failed;
	double t;

	make_trace();
	ours_init();
	gp_init();
	if (!strcmp(mode, "ours") || !strcmp(mode, "genalloc")) {
		failed = run(!strcmp(mode, "ours"));
		printf("%s: %u operations, %u failed allocations\n", mode,
		       nr_trace, failed);
		if (!strcmp(mode, "ours") && pdma_extents_verify(&ex))
			return 1;
		return failed ? 1 : 0;
	}
	if (strcmp(mode, "time")) {
		fprintf(stderr, "usage: %s ours|genalloc|time\n", argv[0]);
		return 2;
	}
	t = now();
	failed = run(true);
	t = now() - t;
	printf("ours:     %u ops, %u failed, %.0f ns/op\n", nr_trace, failed,
	       t * 1e9 / nr_trace);
	t = now();
	failed += run(false);
	t = now() - t;
	printf("genalloc: %u ops, %u failed, %.0f ns/op\n", nr_trace, failed,
	       t * 1e9 / nr_trace);
	return failed ? 1 : 0;
}
