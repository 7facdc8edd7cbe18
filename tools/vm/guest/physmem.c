// SPDX-License-Identifier: GPL-2.0
/*
 * physmem: fill, checksum or flip bytes of a physical range through /dev/mem.
 * The mapping is write-back (no O_SYNC) so it agrees with pdma's own
 * write-back mapping of the range; PAT refuses conflicting types.
 * Guest-side helper for the foundation tests, which must not depend on the
 * pdma module they are meant to validate.
 *
 *   physmem fill PHYS LEN SEED   write a seeded xorshift pattern
 *   physmem sum  PHYS LEN        print the FNV-1a 64 hash as 16 hex digits
 *   physmem xor  PHYS BYTE       flip the bits of BYTE at PHYS
 *
 * Exit: 0 ok, 2 usage or I/O error (with the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: physmem fill PHYS LEN SEED | sum PHYS LEN | xor PHYS BYTE\n");
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end || end == s ? -1 : 0;
}

static uint8_t *map_phys(uint64_t phys, uint64_t len, uint64_t *delta)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = phys & ~(uint64_t)(page - 1);
	void *p;
	int fd;

	fd = open("/dev/mem", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "physmem: /dev/mem: %s\n", strerror(errno));
		return NULL;
	}
	*delta = phys - start;
	p = mmap(NULL, len + *delta, PROT_READ | PROT_WRITE, MAP_SHARED, fd, start);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "physmem: mmap /dev/mem at %#" PRIx64 ": %s\n", phys, strerror(errno));
		return NULL;
	}
	return (uint8_t *)p + *delta;
}

int main(int argc, char **argv)
{
	uint64_t phys, len, arg, delta, x, h = 0xcbf29ce484222325ULL;
	uint8_t *p;

	if (argc < 4 || parse_u64(argv[2], &phys) || parse_u64(argv[3], &len))
		return usage();
	if (!strcmp(argv[1], "xor")) {
		if (len > 0xff)
			return usage();
		p = map_phys(phys, 1, &delta);
		if (!p)
			return 2;
		*p ^= (uint8_t)len;
		return 0;
	}
	if (!len)
		return usage();
	p = map_phys(phys, len, &delta);
	if (!p)
		return 2;
	if (!strcmp(argv[1], "fill") && argc == 5 && !parse_u64(argv[4], &arg)) {
		x = arg | 1;
		for (uint64_t i = 0; i < len; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(p + i, &x, len - i < 8 ? len - i : 8);
		}
		return 0;
	}
	if (!strcmp(argv[1], "sum") && argc == 4) {
		for (uint64_t i = 0; i < len; i++)
			h = (h ^ p[i]) * 0x100000001b3ULL;
		printf("%016" PRIx64 "\n", h);
		return 0;
	}
	return usage();
}
