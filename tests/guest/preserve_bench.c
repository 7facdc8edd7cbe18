// SPDX-License-Identifier: GPL-2.0
/*
 * preserve_bench: preserve one buffer across a kexec, the upstream way (a
 * memfd in a Live Update Orchestrator session, /dev/liveupdate) or pdma's
 * (a named allocation in /dev/pdma), and measure both sides of the kexec.
 *
 *   preserve_bench tsc                          {"tsc":..,"tsc_hz":..}
 *   preserve_bench luo-save  BYTES              fill a memfd, preserve it
 *   preserve_bench pdma-save BYTES              fill a pdma buffer
 *   preserve_bench luo-restore  BYTES           retrieve, map, touch, check
 *   preserve_bench pdma-restore BYTES           claim, map, touch, check
 *
 * Each prints one JSON line. A save reports the time to preserve (for LUO:
 * create the session and PRESERVE_FD; for pdma: ALLOC, as pdma memory is
 * preserved from the moment it exists) and the TSC when it ended. A restore
 * reports the time to get the buffer back and map it, the minor faults and
 * time to touch every 4 KiB page, whether every page holds what the save
 * wrote, and a summary of the physical pages from /proc/self/pagemap: a
 * hash of the PFN list, the first PFN and the number of physically
 * contiguous runs (1 means one contiguous block, usable for noiommu DMA).
 *
 * luo-save leaves a child holding the session fd: LUO preserves a session
 * only while its fd is open at reboot (the selftests' daemonize_and_wait()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/liveupdate.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "libpdma/libpdma.h"

#define PAGE		4096ULL
#define SESSION		"preserve_bench"
#define TOKEN		0x5044
#define SEED		0x9e3779b97f4a7c15ULL

struct pfn_summary {
	uint64_t hash;
	uint64_t first;
	uint64_t runs;
	uint64_t missing;
};

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

static uint64_t tsc_hz(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;
	struct timespec d = { 0, 50 * 1000 * 1000 };

	nanosleep(&d, NULL);
	t1 = now_ns();
	c1 = __rdtsc();
	return (c1 - c0) * 1000000000ULL / (t1 - t0);
}

static uint64_t word_of(uint64_t page)
{
	return (page + 1) * SEED;
}

static void fill(volatile uint64_t *b, uint64_t bytes)
{
	for (uint64_t off = 0; off < bytes; off += PAGE)
		b[off / 8] = word_of(off / PAGE);
}

/* Touch (read) every page; return the number of pages that differ. */
static uint64_t check(volatile const uint64_t *b, uint64_t bytes)
{
	uint64_t bad = 0;

	for (uint64_t off = 0; off < bytes; off += PAGE)
		bad += b[off / 8] != word_of(off / PAGE);
	return bad;
}

static int pfns(const void *addr, uint64_t bytes, struct pfn_summary *s)
{
	uint64_t n = bytes / PAGE, i, prev = 0, *ent;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t r;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return -errno;
	ent = malloc(n * 8);
	if (!ent) {
		close(fd);
		return -ENOMEM;
	}
	r = pread(fd, ent, n * 8, (uintptr_t)addr / PAGE * 8);
	close(fd);
	if (r != (ssize_t)(n * 8)) {
		free(ent);
		return -EIO;
	}
	s->hash = 1469598103934665603ULL;
	for (i = 0; i < n; i++) {
		uint64_t pfn = ent[i] & ((1ULL << 55) - 1);

		if (!(ent[i] >> 63) || !pfn) {
			s->missing++;
			continue;
		}
		if (!s->first)
			s->first = pfn;
		if (!prev || pfn != prev + 1)
			s->runs++;
		prev = pfn;
		s->hash = (s->hash ^ pfn) * 1099511628211ULL;
	}
	free(ent);
	return 0;
}

/*
 * pdma's pages: /proc/self/pagemap shows no PFN for its 2 MiB pfnmap
 * entries, so take them from the allocation, one physically contiguous
 * extent by construction; the pagemap is used where it has entries.
 */
static int pfns_pdma(const struct pdma_mapping *m, struct pfn_summary *s)
{
	int ret = pfns(m->addr, m->len, s);

	if (ret || s->missing != m->len / PAGE)
		return ret;
	memset(s, 0, sizeof(*s));
	s->hash = 1469598103934665603ULL;
	s->first = m->phys / PAGE;
	s->runs = 1;
	for (uint64_t i = 0; i < m->len / PAGE; i++)
		s->hash = (s->hash ^ (s->first + i)) * 1099511628211ULL;
	return 0;
}

static int luo_session(bool create, int *sfd)
{
	struct liveupdate_ioctl_create_session c = { .size = sizeof(c) };
	int fd = open("/dev/liveupdate", O_RDWR), ret;

	if (fd < 0)
		return -errno;
	strcpy((char *)c.name, SESSION);
	/* create and retrieve share their layout */
	ret = ioctl(fd, create ? LIVEUPDATE_IOCTL_CREATE_SESSION :
		    LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &c);
	ret = ret ? -errno : 0;
	close(fd);
	*sfd = c.fd;
	return ret;
}

static void *map_fd(int fd, uint64_t bytes)
{
	void *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return b == MAP_FAILED ? NULL : b;
}

/* The save's line: its time, the TSC at its end, where its pages are. */
static void saved(const char *how, uint64_t bytes, uint64_t ns,
		  const struct pfn_summary *s)
{
	printf("{\"how\":\"%s\",\"bytes\":%" PRIu64 ",\"preserve_ns\":%" PRIu64
	       ",\"pfn_hash\":\"%016" PRIx64 "\",\"first_pfn\":%" PRIu64 ",\"runs\":%" PRIu64
	       ",\"missing\":%" PRIu64 ",\"tsc_end\":%llu}\n", how, bytes, ns, s->hash,
	       s->first, s->runs, s->missing, __rdtsc());
	fflush(stdout);
}

static int luo_save(uint64_t bytes)
{
	struct liveupdate_session_preserve_fd p = { .size = sizeof(p), .token = TOKEN };
	struct pfn_summary s;
	uint64_t t0, t1;
	int sfd, mfd, ret;
	void *b;

	mfd = memfd_create("preserve_bench", 0);
	if (mfd < 0 || ftruncate(mfd, bytes))
		return -errno;
	b = map_fd(mfd, bytes);
	if (!b)
		return -errno;
	fill(b, bytes);
	t0 = now_ns();
	ret = luo_session(true, &sfd);
	if (ret)
		return ret;
	p.fd = mfd;
	if (ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &p))
		return -errno;
	t1 = now_ns();
	/* after PRESERVE_FD: pinning the folios may have migrated them */
	pfns(b, bytes, &s);
	saved("luo", bytes, t1 - t0, &s);
	fflush(stdout);
	munmap(b, bytes);
	if (fork() == 0) {
		/*
		 * The session lives while this child holds its fd. It lets go
		 * of stdout, or the shell reading this program's output would
		 * wait for it forever.
		 */
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		setsid();
		for (;;)
			pause();
	}
	return 0;
}

/* One pdma entry per size: the 64 MiB one stays while the 1 GiB one is made. */
static const char *pdma_name(uint64_t bytes)
{
	static char name[32];

	snprintf(name, sizeof(name), "preserve_bench_%" PRIu64, bytes >> 20);
	return name;
}

static int pdma_save(uint64_t bytes)
{
	struct pdma_entry_info e;
	struct pfn_summary s;
	struct pdma_mapping m;
	struct pdma *p;
	uint64_t t0, t1;
	int ret;

	ret = pdma_open(NULL, &p);
	if (ret)
		return ret;
	t0 = now_ns();
	ret = pdma_alloc(p, pdma_name(bytes), bytes, 2 << 20, 0, &e);
	t1 = now_ns();
	if (!ret)
		ret = pdma_map(p, &e, &m);
	if (ret)
		return ret;
	fill(m.addr, bytes);
	pfns_pdma(&m, &s);
	saved("pdma", bytes, t1 - t0, &s);
	return 0;
}

static void report(const char *how, uint64_t bytes, uint64_t get_ns, void *b,
		   uint64_t phys, const struct pdma_mapping *b_map)
{
	uint64_t t0, t1, bad;
	struct pfn_summary s;
	long f0, f1;
	int ret;

	t0 = now_ns();
	f0 = minflt();
	bad = check(b, bytes);
	f1 = minflt();
	t1 = now_ns();
	if (phys)
		ret = pfns_pdma(b_map, &s);
	else
		ret = pfns(b, bytes, &s);
	printf("{\"how\":\"%s\",\"bytes\":%" PRIu64 ",\"tsc_start\":%llu,\"get_map_ns\":%" PRIu64
	       ",\"touch_ns\":%" PRIu64 ",\"faults\":%ld,\"bad_pages\":%" PRIu64
	       ",\"pagemap_rc\":%d,\"pfn_hash\":\"%016" PRIx64 "\",\"first_pfn\":%" PRIu64
	       ",\"runs\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"phys\":%" PRIu64 "}\n",
	       how, bytes, __rdtsc(), get_ns, t1 - t0, f1 - f0, bad, ret, s.hash,
	       s.first, s.runs, s.missing, phys);
}

static int luo_restore(uint64_t bytes)
{
	struct liveupdate_session_retrieve_fd r = { .size = sizeof(r), .token = TOKEN };
	struct liveupdate_session_finish f = { .size = sizeof(f) };
	uint64_t t0 = now_ns(), t1;
	int sfd, ret;
	void *b;

	ret = luo_session(false, &sfd);
	if (ret)
		return ret;
	if (ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &r))
		return -errno;
	b = map_fd(r.fd, bytes);
	if (!b)
		return -errno;
	t1 = now_ns();
	report("luo", bytes, t1 - t0, b, 0, NULL);
	if (ioctl(sfd, LIVEUPDATE_SESSION_FINISH, &f))
		return -errno;
	return 0;
}

static int pdma_restore(uint64_t bytes)
{
	uint64_t t0 = now_ns(), t1;
	struct pdma_entry_info e;
	struct pdma_mapping m;
	struct pdma *p;
	int ret;

	ret = pdma_open(NULL, &p);
	if (!ret)
		ret = pdma_lookup(p, pdma_name(bytes), &e);
	if (!ret)
		ret = pdma_map(p, &e, &m);
	if (ret)
		return ret;
	t1 = now_ns();
	if (m.len != bytes)
		return -EUCLEAN;
	report("pdma", bytes, t1 - t0, m.addr, m.phys, &m);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t bytes = argc == 3 ? strtoull(argv[2], NULL, 0) : 0;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "tsc")) {
		unsigned long long tsc = __rdtsc();

		printf("{\"tsc\":%llu,\"tsc_hz\":%" PRIu64 "}\n", tsc, tsc_hz());
		return 0;
	}
	if (argc != 3 || !bytes || bytes % PAGE)
		goto usage;
	if (!strcmp(argv[1], "luo-save"))
		ret = luo_save(bytes);
	else if (!strcmp(argv[1], "pdma-save"))
		ret = pdma_save(bytes);
	else if (!strcmp(argv[1], "luo-restore"))
		ret = luo_restore(bytes);
	else if (!strcmp(argv[1], "pdma-restore"))
		ret = pdma_restore(bytes);
	else
		goto usage;
	if (ret)
		fprintf(stderr, "preserve_bench %s: %s\n", argv[1], strerror(-ret));
	return ret ? 1 : 0;
usage:
	fprintf(stderr, "usage: preserve_bench tsc | {luo,pdma}-{save,restore} BYTES\n");
	return 2;
}
