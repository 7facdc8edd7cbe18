// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_map_bench: map and touch one buffer, report page faults and time.
 *
 *   pdma_map_bench pdma NAME       a pdma allocation (claimed by name)
 *   pdma_map_bench hugetlb BYTES   anonymous MAP_HUGETLB memory
 *
 * Prints one JSON line: {"kind":..,"bytes":..,"faults":..,"ns":..}.
 * Each 4 KiB page is written once, so the count of minor faults tells
 * whether the kernel mapped 2 MiB at a time (bytes / 2 MiB faults).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "libpdma/libpdma.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

int main(int argc, char **argv)
{
	struct pdma_entry_info e;
	struct pdma_mapping m;
	struct pdma *p = NULL;
	volatile uint8_t *b;
	uint64_t bytes, t0, t1;
	long f0, f1;
	int ret;

	if (argc != 3)
		goto usage;
	t0 = now_ns();
	f0 = minflt();
	if (!strcmp(argv[1], "pdma")) {
		ret = pdma_open(NULL, &p);
		if (!ret)
			ret = pdma_lookup(p, argv[2], &e);
		if (!ret)
			ret = pdma_map(p, &e, &m);
		if (ret) {
			fprintf(stderr, "pdma_map_bench: %s: %s\n", argv[2], strerror(-ret));
			return 1;
		}
		b = m.addr;
		bytes = m.len;
	} else if (!strcmp(argv[1], "hugetlb")) {
		bytes = strtoull(argv[2], NULL, 0);
		b = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (b == MAP_FAILED) {
			fprintf(stderr, "pdma_map_bench: MAP_HUGETLB %" PRIu64 ": %s\n", bytes,
				strerror(errno));
			return 1;
		}
	} else {
		goto usage;
	}
	for (uint64_t off = 0; off < bytes; off += 4096)
		b[off] = (uint8_t)off;
	t1 = now_ns();
	f1 = minflt();
	printf("{\"kind\":\"%s\",\"bytes\":%" PRIu64 ",\"faults\":%ld,\"ns\":%" PRIu64 "}\n",
	       argv[1], bytes, f1 - f0, t1 - t0);
	return 0;
usage:
	fprintf(stderr, "usage: pdma_map_bench pdma NAME | hugetlb BYTES\n");
	return 2;
}
