// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_stress: hammer /dev/pdma from several threads and processes at once.
 *
 *   pdma_stress SECONDS THREADS SEED
 *
 * THREADS threads each loop over ALLOC (sometimes ZERO), mmap + fill, a
 * re-LOOKUP, a re-check of the pattern, munmap and FREE, with LIST walks,
 * raw read()s and sysfs reads in between. Meanwhile the main thread forks
 * children that allocate and map buffers in a loop, and SIGKILLs each one
 * after a random delay, so process exit tears mappings down at arbitrary
 * points. Each dead child's buffers must then be freeable at once, and at
 * the end every entry left must be too: a leaked map count would leave
 * one EBUSY.
 *
 * A buffer whose pattern changed between fill and check means two live
 * allocations overlapped. Only errnos the ABI documents for a contended,
 * full region are tolerated: ENOSPC (no free slot) and ENOMEM (no extent
 * fits) for ALLOC, and EBUSY for a FREE whose buffer a child still maps
 * (fork copies a multithreaded parent's shared mappings; the entry is freed
 * at the end, once every child is dead).
 *
 * Prints one JSON line; exit 0 when no check failed, 1 otherwise, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libpdma/libpdma.h"

static const char *const sysfs_files[] = {
	"/sys/class/misc/pdma/state", "/sys/class/misc/pdma/size",
	"/sys/class/misc/pdma/generation", "/sys/class/misc/pdma/entries",
	"/sys/class/misc/pdma/free", "/sys/class/misc/pdma/base",
};

static atomic_ulong n_ops, n_allocs, n_full, n_busy, n_fail;
static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fail(const char *what, const char *name, int err)
{
	fprintf(stderr, "pdma_stress: %s %s: %s\n", what, name, strerror(-err));
	atomic_fetch_add(&n_fail, 1);
}

static void fill(uint64_t *w, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		w[i] = seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

static int check(const uint64_t *w, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != (seed ^ (i * 0x9e3779b97f4a7c15ULL)))
			return -1;
	return 0;
}

static void read_sysfs(uint64_t *s)
{
	char buf[64];
	int fd = open(sysfs_files[rnd(s) % 6], O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			fail("read", "sysfs", -errno);
		close(fd);
	}
}

static void walk_list(struct pdma *p)
{
	struct pdma_entry_info e;
	uint32_t cursor = 0;
	int ret;

	while (!(ret = pdma_list(p, &cursor, &e)))
		;
	if (ret != -ENOENT)
		fail("list", "", ret);
}

static void read_raw(struct pdma *p, uint64_t *s)
{
	char buf[4096];
	ssize_t n = pdma_read_raw(p, buf, sizeof(buf), (rnd(s) % 64) * 4096);

	if (n < 0)
		fail("read", "raw", (int)n);
}

/*
 * One buffer's life: alloc, map, fill, look up again, check, unmap, free.
 * Returns 1 when the free found the buffer still mapped by a child.
 */
static int one_buffer(struct pdma *p, const char *name, uint64_t *s)
{
	static const uint64_t sizes[] = { 4096, 8192, 65536, 3 * 4096, 2 << 20 };
	struct pdma_entry_info e, again;
	struct pdma_mapping m;
	uint64_t seed = rnd(s);
	uint32_t flags = rnd(s) & 1 ? PDMA_ALLOC_ZERO : 0;
	int ret;

	ret = pdma_alloc(p, name, sizes[rnd(s) % 5], rnd(s) & 1 ? 65536 : 0, flags, &e);
	if (ret == -ENOSPC || ret == -ENOMEM) {
		atomic_fetch_add(&n_full, 1);
		return 0;
	}
	if (ret) {
		fail("alloc", name, ret);
		return 0;
	}
	atomic_fetch_add(&n_allocs, 1);
	ret = pdma_map(p, &e, &m);
	if (ret) {
		fail("map", name, ret);
		goto free;
	}
	fill(m.addr, m.len, seed);
	ret = pdma_lookup(p, name, &again);
	if (ret || again.phys != e.phys)
		fail("lookup", name, ret ? ret : -EIO);
	if (check(m.addr, m.len, seed))
		fail("pattern changed (overlap?)", name, -EIO);
	pdma_unmap(&m);
free:
	ret = pdma_free(p, name);
	if (ret == -EBUSY) {
		atomic_fetch_add(&n_busy, 1);
		return 1;
	}
	if (ret)
		fail("free", name, ret);
	return 0;
}

/* Retry the oldest free that a child's inherited mapping refused. */
static void retry_busy(struct pdma *p, char (*busy)[64], int *nbusy)
{
	int ret;

	if (!*nbusy)
		return;
	ret = pdma_free(p, busy[0]);
	if (ret == -EBUSY)
		return;
	if (ret)
		fail("free (retry)", busy[0], ret);
	memmove(busy[0], busy[1], (size_t)--*nbusy * sizeof(busy[0]));
}

static void *worker(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x2545f4914f6cdd1dULL + 1;
	static __thread char busy[32][64];
	int ret, n = 0, nbusy = 0;
	struct pdma *p;
	char name[64];

	ret = pdma_open(NULL, &p);
	if (ret) {
		fail("open", "/dev/pdma", ret);
		return NULL;
	}
	while (now() < deadline) {
		snprintf(name, sizeof(name), "stress/%d/%lu/%d", getpid(),
			 (unsigned long)(uintptr_t)arg, n++);
		switch (rnd(&s) % 6) {
		case 0:
			walk_list(p);
			retry_busy(p, busy, &nbusy);
			break;
		case 1:
			read_raw(p, &s);
			break;
		case 2:
			read_sysfs(&s);
			break;
		default:
			if (one_buffer(p, name, &s) && nbusy < 32)
				strcpy(busy[nbusy++], name);
		}
		atomic_fetch_add(&n_ops, 1);
	}
	pdma_close(p);
	return NULL;
}

/*
 * A child that allocates up to 16 buffers, then maps, fills and unmaps
 * them in a loop (leaving some mapped), until its parent kills it.
 */
static void victim(uint64_t seed)
{
	struct pdma_entry_info e;
	struct pdma_mapping m;
	struct pdma *p;
	char name[64];
	int have = 0;

	if (pdma_open(NULL, &p))
		_exit(3);
	for (int n = 0;; n++) {
		snprintf(name, sizeof(name), "victim/%d/%d", getpid(), n % 16);
		if (have < 16 && !pdma_alloc(p, name, 65536, 0, n & 1 ? PDMA_ALLOC_ZERO : 0, &e))
			have++;
		else if (pdma_lookup(p, name, &e))
			continue;
		if (!pdma_map(p, &e, &m)) {
			fill(m.addr, m.len, seed + n);
			if (n & 2)
				pdma_unmap(&m);
		}
	}
}

/*
 * Free what a dead child left: its mappings went away in exit_mm() before
 * the parent's waitpid() returned, so a FREE that still finds the buffer
 * mapped means a leaked map count.
 */
static void free_victim(struct pdma *p, pid_t pid)
{
	struct pdma_entry_info e;
	uint32_t cursor = 0;
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "victim/%d/", pid);
	int ret;

	while (!pdma_list(p, &cursor, &e)) {
		if (strncmp(e.name, prefix, n))
			continue;
		ret = pdma_free(p, e.name);
		if (ret)
			fail("free after child exit", e.name, ret);
	}
}

static int killer(uint64_t *s)
{
	struct pdma *p;
	int kills = 0, ret;

	ret = pdma_open(NULL, &p);
	if (ret) {
		fail("open", "/dev/pdma", ret);
		return 0;
	}
	while (now() < deadline) {
		pid_t pid = fork();

		if (pid == 0)
			victim(rnd(s));
		if (pid < 0) {
			fail("fork", "", -errno);
			break;
		}
		usleep(1000 + rnd(s) % 200000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free_victim(p, pid);
		kills++;
	}
	pdma_close(p);
	return kills;
}

/* Free every entry left; a leaked map count shows up as EBUSY here. */
static int free_all(int *left)
{
	struct pdma_entry_info e;
	struct pdma *p;
	uint32_t cursor = 0;
	int freed = 0, ret;

	*left = 0;
	ret = pdma_open(NULL, &p);
	if (ret) {
		fail("open", "/dev/pdma", ret);
		return 0;
	}
	while (!pdma_list(p, &cursor, &e)) {
		ret = pdma_free(p, e.name);
		if (ret)
			fail("final free", e.name, ret);
		else
			freed++;
	}
	cursor = 0;
	while (!pdma_list(p, &cursor, &e))
		(*left)++;
	pdma_close(p);
	return freed;
}

int main(int argc, char **argv)
{
	pthread_t th[16];
	uint64_t s;
	int secs, nth, kills, freed, left;

	if (argc != 4 || (secs = atoi(argv[1])) <= 0 || (nth = atoi(argv[2])) <= 0 ||
	    nth > 16) {
		fprintf(stderr, "usage: pdma_stress SECONDS THREADS(1-16) SEED\n");
		return 2;
	}
	s = strtoull(argv[3], NULL, 0) | 1;
	deadline = now() + secs;
	for (int i = 0; i < nth; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	kills = killer(&s);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	freed = free_all(&left);
	printf("{\"ops\":%lu,\"allocs\":%lu,\"full\":%lu,\"busy\":%lu,\"kills\":%d,"
	       "\"freed_at_end\":%d,\"left\":%d,\"failures\":%lu}\n",
	       atomic_load(&n_ops), atomic_load(&n_allocs), atomic_load(&n_full),
	       atomic_load(&n_busy), kills,
	       freed, left, atomic_load(&n_fail));
	return atomic_load(&n_fail) || left ? 1 : 0;
}
