// SPDX-License-Identifier: GPL-2.0
/*
 * P5: the cost of one commit against the table capacity. A region with
 * CAP slots holds 32 preserved entries (as after a kexec); then one ALLOC,
 * one FREE and one claim (LOOKUP of a preserved entry) run, each one
 * commit, inside bench_do_commits(), which bench.sh counts with callgrind.
 *
 *   bench_commit CAP
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdma_shim.h"
#include "pdma_core.h"

#define NOINLINE	__attribute__((__noinline__))
#define BASE		0x100000000ULL
#define SIZE		(64ULL << 20)

static u8 *mem;

static void mem_write(void *ctx, u64 off, const void *src, size_t len)
{
	(void)ctx;
	memcpy(mem + off, src, len);
}

static const struct pdma_core_ops ops = { .write = mem_write };

static const char *name(const char *fmt, unsigned int i)
{
	static char b[PDMA_NAME_MAX];

	memset(b, 0, sizeof(b));
	snprintf(b, sizeof(b), fmt, i);
	return b;
}

NOINLINE int bench_do_commits(struct pdma_core *core)
{
	return pdma_core_alloc(core, name("new/%u", 0), 4096, 0, 0, NULL) |
	       pdma_core_free(core, name("buf/%u", 1)) |
	       pdma_core_claim(core, name("buf/%u", 2), NULL);
}

int main(int argc, char **argv)
{
	struct pdma_layout lay;
	struct pdma_core *core;
	struct pdma_core_config cfg = { .base = BASE, .size = SIZE, .ops = &ops };
	unsigned int i;

	cfg.capacity = argc == 2 ? strtoul(argv[1], NULL, 0) : 0;
	if (pdma_core_layout(BASE, SIZE, cfg.capacity, &lay)) {
		fprintf(stderr, "usage: bench_commit CAPACITY\n");
		return 2;
	}
	mem = calloc(1, lay.data_offset);
	cfg.table = mem;
	if (!mem || pdma_core_create(&cfg, &core) ||
	    pdma_core_load(core, NULL) != PDMA_LOAD_EMPTY || pdma_core_format(core))
		return 1;
	for (i = 0; i < 32; i++)
		if (pdma_core_alloc(core, name("buf/%u", i), 4096, 0, 0, NULL))
			return 1;
	/* As after a kexec: reload and adopt, then settle the copies. */
	if (pdma_core_load(core, NULL) != PDMA_LOAD_OK || pdma_core_adopt(core) ||
	    pdma_core_claim(core, name("buf/%u", 3), NULL) ||
	    pdma_core_claim(core, name("buf/%u", 4), NULL))
		return 1;
	if (bench_do_commits(core))
		return 1;
	printf("capacity %u: 3 commits done\n", cfg.capacity);
	pdma_core_destroy(core);
	free(mem);
	return 0;
}
