// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_buf: guest test helper that works on one named pdma buffer.
 *
 *   pdma_buf fill NAME SEED    claim NAME, map it, write a seeded pattern
 *   pdma_buf sum NAME          claim NAME, map it, print "PHYS HASH"
 *   pdma_buf nonzero NAME      claim NAME, map it, print how many bytes of
 *                              it are not zero
 *
 * HASH is FNV-1a 64 over the whole buffer, so the host can compare content
 * across kexec; PHYS shows the buffer came back at the same address.
 * Exit: 0 ok, 1 the kernel refused, 2 usage or I/O error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpdma/libpdma.h"

int main(int argc, char **argv)
{
	struct pdma_entry_info e;
	struct pdma_mapping m;
	struct pdma *p;
	uint64_t x, h = 0xcbf29ce484222325ULL;
	uint8_t *b;
	int ret;

	if (argc < 3 || (strcmp(argv[1], "fill") && strcmp(argv[1], "sum") &&
			 strcmp(argv[1], "nonzero")) ||
	    (!strcmp(argv[1], "fill") && argc != 4)) {
		fprintf(stderr, "usage: pdma_buf fill NAME SEED | sum NAME | nonzero NAME\n");
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
