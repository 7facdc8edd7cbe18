// SPDX-License-Identifier: GPL-2.0
/*
 * Seed corpus for fuzz_table: table areas written by the core itself, for
 * several capacities, region sizes and bases, after random histories of
 * allocs, frees, adoptions and claims, plus damaged variants (a flipped
 * byte in either copy, a torn commit, copy A wiped) and an empty region.
 *
 * usage: gen_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pdma_core.h"

struct buf {
	u8 *mem;
	u64 len;
	long stop_at;		/* drop stores from this one on, -1: never */
	long stores;
};

static void buf_write(void *ctx, u64 off, const void *src, size_t len)
{
	struct buf *b = ctx;

	if (off > b->len || len > b->len - off)
		abort();
	if (b->stop_at >= 0 && b->stores++ >= b->stop_at)
		return;
	memcpy(b->mem + off, src, len);
}

static const struct pdma_core_ops buf_ops = { .write = buf_write };

static u64 rnd(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void save(const char *dir, const char *tag, int i, const u8 *mem,
		 u64 len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s-%02d", dir, tag, i);
	fp = fopen(path, "wb");
	if (!fp || fwrite(mem, 1, len, fp) != len) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

static const char *name(unsigned int n)
{
	static char b[PDMA_NAME_MAX];

	memset(b, 0, sizeof(b));
	snprintf(b, sizeof(b), n % 3 ? "q%u" : "queue-%u-dma-ring", n);
	return b;
}

int main(int argc, char **argv)
{
	static const u32 caps[] = { 1, 2, 4, 8, 16, 31, 32, 64 };
	static const u64 bases[] = { 0x100000000ULL, 0x40003000ULL, 0, 0x7ff000000ULL };
	u64 seed = 42, r;
	unsigned int i, k, ops;
	int nfiles = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (i = 0; i < 24; i++) {
		struct pdma_core_config cfg;
		struct pdma_core *core;
		struct pdma_layout lay;
		struct buf b = { .stop_at = -1 };
		u8 *copy;

		cfg.capacity = caps[i % 8];
		cfg.base = bases[i % 4];
		cfg.size = (u64)(16 + 48 * (i % 3)) << 20;
		if (pdma_core_layout(cfg.base, cfg.size, cfg.capacity, &lay))
			return 1;
		b.len = lay.data_offset;
		b.mem = calloc(1, b.len);
		copy = malloc(b.len);
		cfg.table = b.mem;
		cfg.ops = &buf_ops;
		cfg.ctx = &b;
		if (!b.mem || !copy || pdma_core_create(&cfg, &core))
			return 1;
		if (i == 0) {
			save(argv[1], "empty", 0, b.mem, b.len);
			nfiles++;
		}
		if (pdma_core_load(core, NULL) != PDMA_LOAD_EMPTY ||
		    pdma_core_format(core))
			return 1;
		ops = 3 + i * 5;
		for (k = 0; k < ops; k++) {
			r = rnd(&seed);
			switch (r % 8) {
			case 0: case 1: case 2: case 3:
				pdma_core_alloc(core, name(r >> 8 & 63),
						4096 * (1 + (r >> 16) % 32),
						4096ULL << ((r >> 24) % 5),
						(r >> 32) & 1, NULL);
				break;
			case 4: case 5:
				pdma_core_free(core, name(r >> 8 & 63));
				break;
			case 6:
				pdma_core_claim(core, name(r >> 8 & 63), NULL);
				break;
			default:
				pdma_core_adopt(core);
			}
		}
		save(argv[1], "valid", i, b.mem, b.len);
		nfiles++;

		/* Damaged variants of a few of them. */
		if (i % 4 == 1) {
			memcpy(copy, b.mem, b.len);
			copy[rnd(&seed) % (2 * 128)] ^= 0x10;
			save(argv[1], "flip-a", i, copy, b.len);
			memcpy(copy, b.mem, b.len);
			copy[lay.copy_size + rnd(&seed) % 256] ^= 0x01;
			save(argv[1], "flip-b", i, copy, b.len);
			memcpy(copy, b.mem, b.len);
			memset(copy, 0, lay.copy_size);
			save(argv[1], "wiped-a", i, copy, b.len);
			nfiles += 3;
		}
		if (i % 4 == 2) {
			/* A commit torn after its first store. */
			b.stop_at = 1;
			b.stores = 0;
			pdma_core_alloc(core, name(99), 4096, 0, 0, NULL);
			save(argv[1], "torn", i, b.mem, b.len);
			nfiles++;
		}
		pdma_core_destroy(core);
		free(b.mem);
		free(copy);
	}
	printf("gen_corpus: %d files in %s\n", nfiles, argv[1]);
	return 0;
}
