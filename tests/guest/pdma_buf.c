// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_buf: guest test helper that works on one named pdma buffer.
 *
 *   pdma_buf fill NAME SEED    claim NAME, map it, write a seeded pattern
 *   pdma_buf sum NAME          claim NAME, map it, print "PHYS HASH"
 *   pdma_buf nonzero NAME      claim NAME, map it, print how many bytes of
 *                              it are not zero
 *   pdma_buf check NAME SEED   claim NAME, map it, compare every byte with
 *                              the pattern of SEED: print "PHYS BAD FIRST LAST"
 *                              (bytes that differ, offsets of the first and
 *                              last; -1 -1 when none)
 *
 * HASH is FNV-1a 64 over the whole buffer, so the host can compare content
 * across kexec; PHYS shows the buffer came back at the same address.
 * Exit: 0 ok, 1 the kernel refused or check found a difference, 2 usage or
 * I/O error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpdma/libpdma.h"

/* Byte-for-byte comparison with the seeded pattern that fill writes. */
static int check(struct pdma *p, struct pdma_mapping *m, uint64_t seed)
{
	const uint8_t *b = m->addr;
	uint64_t x = seed | 1, bad = 0;
	int64_t first = -1, last = -1;
	uint8_t want[8];

	for (size_t i = 0; i < m->len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(want, &x, 8);
		for (size_t j = 0; j < 8 && i + j < m->len; j++) {
			if (b[i + j] == want[j])
				continue;
			bad++;
			if (first < 0)
				first = (int64_t)(i + j);
			last = (int64_t)(i + j);
		}
	}
	printf("%#" PRIx64 " %" PRIu64 " %" PRId64 " %" PRId64 "\n", m->phys, bad, first, last);
	pdma_unmap(m);
	pdma_close(p);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct pdma_entry_info e;
	struct pdma_mapping m;
	struct pdma *p;
	uint64_t x, h = 0xcbf29ce484222325ULL;
	uint8_t *b;
	int ret, seeded;

	seeded = argc == 4 && (!strcmp(argv[1], "fill") || !strcmp(argv[1], "check"));
	if (!seeded && !(argc == 3 && (!strcmp(argv[1], "sum") || !strcmp(argv[1], "nonzero")))) {
		fprintf(stderr,
			"usage: pdma_buf fill NAME SEED | sum NAME | nonzero NAME | check NAME SEED\n");
		return 2;
	}
	ret = pdma_open(NULL, &p);
	if (ret) {
		fprintf(stderr, "pdma_buf: /dev/pdma: %s\n", strerror(-ret));
		return 2;
	}
	ret = pdma_lookup(p, argv[2], &e);
	if (!ret)
		ret = pdma_map(p, &e, &m);
	if (ret) {
		fprintf(stderr, "pdma_buf: %s: %s\n", argv[2], strerror(-ret));
		return 1;
	}
	b = m.addr;
	if (!strcmp(argv[1], "nonzero")) {
		size_t nz = 0;

		for (size_t i = 0; i < m.len; i++)
			nz += b[i] != 0;
		printf("%zu\n", nz);
		pdma_unmap(&m);
		pdma_close(p);
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return check(p, &m, strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "fill")) {
		x = strtoull(argv[3], NULL, 0) | 1;
		for (size_t i = 0; i < m.len; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(b + i, &x, 8);
		}
	}
	for (size_t i = 0; i < m.len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	printf("%#" PRIx64 " %016" PRIx64 "\n", m.phys, h);
	pdma_unmap(&m);
	pdma_close(p);
	return 0;
}
