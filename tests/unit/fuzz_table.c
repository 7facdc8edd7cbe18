// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: arbitrary bytes as the table area of a pdma region.
 *
 * The region configuration (capacity, base, size) is taken from copy A's
 * header when it is plausible, so that mutated valid tables (the seed
 * corpus from gen_corpus) get past the cheap header checks and exercise
 * the deep validation; otherwise a fixed configuration is used. The input
 * is copied into a table area of exactly 2 * copy_size bytes (truncated or
 * zero-padded), which ASan bounds, so any read outside it is caught. Bits
 * 0 and 1 of the last input byte fix up the CRC of copy A and B.
 *
 * Oracles, besides the sanitizers:
 * - the load report agrees with pdma_core_check_copy() on both copies;
 * - a read-only core refuses every mutation and never stores;
 * - a live core passes pdma_core_verify() after every operation;
 * - after a few random operations (driven by a hash of the input), a fresh
 *   core loading the bytes has exactly the same state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_common.h"

#define FZ_MAX_CAP	64
#define FZ_MAX_SIZE	(1ULL << 44)

struct fz {
	u8 *mem;
	u64 len;
	unsigned long stores;
};

static void fz_write(void *ctx, u64 off, const void *src, size_t len)
{
	struct fz *f = ctx;

	if (off > f->len || len > f->len - off)
		__builtin_trap();
	f->stores++;
	memcpy(f->mem + off, src, len);
}

static const struct pdma_core_ops fz_ops = { .write = fz_write };

#define FZ_ASSERT(x) do { if (!(x)) { fprintf(stderr, "fuzz oracle: %s (line %d)\n", #x, __LINE__); __builtin_trap(); } } while (0)

static struct pdma_core *fz_core(const struct pdma_core_config *cfg)
{
	struct pdma_core *core;

	FZ_ASSERT(!pdma_core_create(cfg, &core));
	return core;
}

/* A few operations on a live core; every one keeps the invariants. */
static void fz_ops_run(struct pdma_core *core, u64 seed)
{
	struct pdma_core_entry e;
	u32 cursor;
	int i, ret;

	for (i = 0; i < 24; i++) {
		u64 r = rnd_next(&seed);
		const char *name = N("f%u", (unsigned int)(r % 8));

		switch ((r >> 8) % 6) {
		case 0:
		case 1:
			ret = pdma_core_alloc(core, name,
					      ((r >> 16) % 64 + 1) * 4096 *
					      ((r >> 24) % 4 ? 1 : 64),
					      4096ULL << ((r >> 32) % 12),
					      (r >> 40) & 1, &e);
			FZ_ASSERT(!ret || ret == -EEXIST || ret == -ENOSPC ||
				  ret == -ENOMEM || ret == -EINVAL);
			break;
		case 2:
			ret = pdma_core_free(core, name);
			FZ_ASSERT(!ret || ret == -ENOENT);
			break;
		case 3:
			/* Free or claim an entry that came with the table. */
			cursor = (r >> 16) % FZ_MAX_CAP;
			if (pdma_core_next_entry(core, &cursor, &e))
				break;
			if ((r >> 32) & 1)
				FZ_ASSERT(!pdma_core_free(core, e.name));
			else
				FZ_ASSERT(!pdma_core_claim(core, e.name, &e));
			break;
		case 4:
			ret = pdma_core_claim(core, name, &e);
			FZ_ASSERT(!ret || ret == -ENOENT);
			break;
		default:
			if ((r >> 16) % 4 == 0)
				FZ_ASSERT(!pdma_core_adopt(core));
			break;
		}
		FZ_ASSERT(!pdma_core_verify(core));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pdma_core_config cfg = { .capacity = 4, .base = 0x100000000ULL };
	struct pdma_core *core, *again;
	struct pdma_load_report rep;
	struct pdma_copy_report crep;
	struct pdma_table_header h;
	struct pdma_layout lay;
	struct snapshot a, b;
	enum pdma_load_result res;
	struct fz f = { 0 };
	u8 *before;
	u64 v;
	int c;

	cfg.size = 64 * SZ_1M;
	if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		v = le32_to_cpu(h.capacity);
		if (v >= 1 && v <= FZ_MAX_CAP)
			cfg.capacity = v;
		v = le64_to_cpu(h.region_base);
		if (!(v & 4095) && v < FZ_MAX_SIZE)
			cfg.base = v;
		v = le64_to_cpu(h.region_size);
		if (v <= FZ_MAX_SIZE &&
		    !pdma_core_layout(cfg.base, v, cfg.capacity, &lay))
			cfg.size = v;
	}
	FZ_ASSERT(!pdma_core_layout(cfg.base, cfg.size, cfg.capacity, &lay));

	f.len = lay.data_offset;
	f.mem = calloc(1, f.len);
	before = malloc(f.len);
	FZ_ASSERT(f.mem && before);
	memcpy(f.mem, data, size < f.len ? size : f.len);
	/*
	 * A mutated slot almost never keeps a valid CRC. The last input byte
	 * can ask for either copy's CRC to be fixed up, so that the fuzzer
	 * also reaches everything validated after the CRC.
	 */
	for (c = 0; size && c < 2; c++) {
		struct pdma_table_header *ch;
		size_t n = sizeof(*ch) + (size_t)cfg.capacity * 128;

		if (!(data[size - 1] & (1 << c)))
			continue;
		ch = (struct pdma_table_header *)(f.mem + c * lay.copy_size);
		ch->crc32c = 0;
		ch->crc32c = cpu_to_le32(~pdma_crc32c(~0U, ch, n));
	}
	cfg.table = f.mem;
	cfg.ops = &fz_ops;
	cfg.ctx = &f;

	/*
	 * The capacity probe reads only inside the table area it is given
	 * (ASan checks), and only returns a capacity that fits the region.
	 */
	v = pdma_core_probe_capacity(f.mem, f.len, cfg.base, cfg.size);
	if (v) {
		struct pdma_layout plan;

		FZ_ASSERT(!pdma_core_layout(cfg.base, cfg.size, v, &plan));
		FZ_ASSERT(plan.copy_size <= f.len);
	}

	core = fz_core(&cfg);
	res = pdma_core_load(core, &rep);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "cap %u base %#llx size %#llx: load %d, A %s, B %s\n",
			cfg.capacity, (unsigned long long)cfg.base,
			(unsigned long long)cfg.size, res,
			pdma_copy_status_str(rep.copy[0].status),
			pdma_copy_status_str(rep.copy[1].status));
	for (c = 0; c < 2; c++) {
		FZ_ASSERT(pdma_copy_status_str(rep.copy[c].status));
		if (rep.copy[c].status == PDMA_COPY_UNCHECKED)
			continue;
		FZ_ASSERT(pdma_core_check_copy(core, c, &crep) ==
			  rep.copy[c].status);
		FZ_ASSERT(crep.slot == rep.copy[c].slot &&
			  crep.other == rep.copy[c].other);
		FZ_ASSERT(crep.crc == rep.copy[c].crc &&
			  crep.crc_stored == rep.copy[c].crc_stored &&
			  crep.crc_computed == rep.copy[c].crc_computed);
		/* BAD_CRC exactly when the CRC was checked and failed. */
		FZ_ASSERT((crep.status == PDMA_COPY_BAD_CRC) ==
			  (crep.crc == PDMA_CRC_BAD));
		FZ_ASSERT(crep.crc != PDMA_CRC_GOOD ||
			  crep.crc_stored == crep.crc_computed);
	}
	FZ_ASSERT(!pdma_core_verify(core));

	switch (res) {
	case PDMA_LOAD_OK:
		FZ_ASSERT(rep.used >= 0 &&
			  rep.copy[rep.used].status == PDMA_COPY_OK);
		break;
	case PDMA_LOAD_EMPTY:
		FZ_ASSERT(rep.copy[0].status == PDMA_COPY_NO_MAGIC &&
			  rep.copy[1].status == PDMA_COPY_NO_MAGIC);
		FZ_ASSERT(pdma_core_alloc(core, N("x"), 1, 0, 0, NULL) == -EROFS);
		FZ_ASSERT(f.stores == 0);
		FZ_ASSERT(!pdma_core_format(core));
		break;
	default:
		/* Read-only: nothing may change the region. */
		memcpy(before, f.mem, f.len);
		FZ_ASSERT(pdma_core_alloc(core, N("x"), 1, 0, 0, NULL) == -EROFS);
		FZ_ASSERT(pdma_core_free(core, N("x")) == -EROFS);
		FZ_ASSERT(pdma_core_claim(core, N("x"), NULL) == -EROFS);
		FZ_ASSERT(pdma_core_adopt(core) == -EROFS);
		FZ_ASSERT(f.stores == 0 && !memcmp(before, f.mem, f.len));
		goto out;
	}

	fz_ops_run(core, ~pdma_crc32c(~0U, data, size));

	/* The next kernel must see exactly what this one committed. */
	again = fz_core(&cfg);
	FZ_ASSERT(pdma_core_load(again, NULL) == PDMA_LOAD_OK);
	FZ_ASSERT(!pdma_core_verify(again));
	FZ_ASSERT(!snapshot_take(core, &a) && !snapshot_take(again, &b));
	FZ_ASSERT(!snapshot_cmp(&a, &b, true));
	snapshot_free(&a);
	snapshot_free(&b);
	pdma_core_destroy(again);
out:
	pdma_core_destroy(core);
	free(before);
	free(f.mem);
	return 0;
}
