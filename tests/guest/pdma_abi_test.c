// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_abi_test: every /dev/pdma error path, with the exact errno, run
 * inside a guest with the module loaded on a fresh region. One line of JSON
 * per test: {"test": NAME, "ok": true|false, "detail": "..."}; the host
 * turns each line into its own pytest case.
 *
 * Exit: 0 all passed, 1 a test failed or the device could not be opened
 * (kselftest convention: 0, 1, or 77 for skip; this test never skips).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/pdma.h>

#include "caps.h"

static int fd;
static int failures;

static void report(const char *test, int ok, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("{\"test\":\"%s\",\"ok\":%s,\"detail\":\"%s\"}\n", test, ok ? "true" : "false",
	       detail);
	fflush(stdout);
	failures += !ok;
}

/* Expect CALL to fail with exactly errno WANT. */
#define EXPECT_ERRNO(test, want, call)						\
	do {									\
		int __r = (call);						\
		int __e = __r ? errno : 0;					\
		report(test, __r == -1 && __e == (want), "want %s, got ret %d errno %s",	\
		       strerrorname_np(want), __r, __e ? strerrorname_np(__e) : "0"); \
	} while (0)

static struct pdma_alloc areq(const char *name, __u64 size, __u64 align)
{
	struct pdma_alloc req = { .size = size, .align = align };

	strncpy(req.name, name, sizeof(req.name) - 1);
	return req;
}

static int do_alloc(const char *name, __u64 size, __u64 align, struct pdma_alloc *out)
{
	struct pdma_alloc req = areq(name, size, align);
	int ret = ioctl(fd, PDMA_IOC_ALLOC, &req);

	if (out)
		*out = req;
	return ret;
}

static int do_free(const char *name)
{
	struct pdma_free req = { 0 };

	strncpy(req.name, name, sizeof(req.name) - 1);
	return ioctl(fd, PDMA_IOC_FREE, &req);
}

static void test_alloc_args(void)
{
	struct pdma_alloc req;

	req = areq("zero", 0, 0);
	EXPECT_ERRNO("alloc_zero_size_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("huge", 1ULL << 62, 0);
	EXPECT_ERRNO("alloc_huge_size_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("wrap", ~0ULL, 0);
	EXPECT_ERRNO("alloc_size_overflow_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("align3", 4096, 3 * 4096);
	EXPECT_ERRNO("alloc_align_not_pow2_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("align512", 4096, 512);
	EXPECT_ERRNO("alloc_align_below_4k_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("align2g", 4096, 2ULL << 30);
	EXPECT_ERRNO("alloc_align_above_1g_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("flags", 4096, 0);
	req.flags = 1U << 31;
	EXPECT_ERRNO("alloc_unknown_flags_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("rsvd", 4096, 0);
	req.reserved[3] = 1;
	EXPECT_ERRNO("alloc_reserved_nonzero_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("outfield", 4096, 0);
	req.phys = 1;
	EXPECT_ERRNO("alloc_output_field_nonzero_einval", EINVAL,
		     ioctl(fd, PDMA_IOC_ALLOC, &req));
}

static void test_names(void)
{
	struct pdma_alloc req;

	req = areq("", 4096, 0);
	EXPECT_ERRNO("alloc_empty_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("", 4096, 0);
	memset(req.name, 'x', sizeof(req.name));
	EXPECT_ERRNO("alloc_unterminated_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("junk", 4096, 0);
	req.name[10] = 'j';
	EXPECT_ERRNO("alloc_bytes_after_nul_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("esc\033[2Jx", 4096, 0);
	EXPECT_ERRNO("alloc_escape_byte_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("nl\nx", 4096, 0);
	EXPECT_ERRNO("alloc_newline_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("del\177", 4096, 0);
	EXPECT_ERRNO("alloc_del_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	req = areq("utf8\303\251", 4096, 0);
	EXPECT_ERRNO("alloc_high_byte_name_einval", EINVAL, ioctl(fd, PDMA_IOC_ALLOC, &req));
	if (do_alloc("dup", 4096, 0, NULL))
		report("alloc_duplicate_name_eexist", 0, "first alloc failed: %s",
		       strerrorname_np(errno));
	else
		EXPECT_ERRNO("alloc_duplicate_name_eexist", EEXIST, do_alloc("dup", 8192, 0, NULL));
	do_free("dup");
}

static void test_lookup_free_list(void)
{
	struct pdma_lookup lk = { 0 };
	struct pdma_free fr = { 0 };
	struct pdma_list ls = { 0 };
	struct pdma_info info = { 0 };

	strcpy(lk.entry.name, "nosuch");
	EXPECT_ERRNO("lookup_unknown_enoent", ENOENT, ioctl(fd, PDMA_IOC_LOOKUP, &lk));
	lk.reserved[0] = 1;
	EXPECT_ERRNO("lookup_reserved_nonzero_einval", EINVAL, ioctl(fd, PDMA_IOC_LOOKUP, &lk));
	lk.reserved[0] = 0;
	lk.entry.phys = 1;
	EXPECT_ERRNO("lookup_output_field_nonzero_einval", EINVAL,
		     ioctl(fd, PDMA_IOC_LOOKUP, &lk));
	EXPECT_ERRNO("free_unknown_enoent", ENOENT, do_free("nosuch"));
	strcpy(fr.name, "x");
	fr.reserved[1] = 1;
	EXPECT_ERRNO("free_reserved_nonzero_einval", EINVAL, ioctl(fd, PDMA_IOC_FREE, &fr));
	ls.pad = 1;
	EXPECT_ERRNO("list_pad_nonzero_einval", EINVAL, ioctl(fd, PDMA_IOC_LIST, &ls));
	ls.pad = 0;
	ls.cursor = 1U << 30;
	EXPECT_ERRNO("list_past_end_enoent", ENOENT, ioctl(fd, PDMA_IOC_LIST, &ls));
	info.reserved[2] = 1;
	EXPECT_ERRNO("info_reserved_nonzero_einval", EINVAL, ioctl(fd, PDMA_IOC_INFO, &info));
	EXPECT_ERRNO("unknown_ioctl_enotty", ENOTTY,
		     ioctl(fd, _IOWR(PDMA_IOC_MAGIC, 0x7f, struct pdma_info), &info));
}

static void test_exhaustion(void)
{
	struct pdma_info info = { 0 };

	/* Fits the data area, but not the free space left beside "filler". */
	if (do_alloc("filler", 4096, 0, NULL) || ioctl(fd, PDMA_IOC_INFO, &info)) {
		report("alloc_larger_than_free_enomem", 0, "setup failed: %s",
		       strerrorname_np(errno));
		return;
	}
	EXPECT_ERRNO("alloc_larger_than_free_enomem", ENOMEM,
		     do_alloc("toobig", info.largest_free + 4096, 0, NULL));
	do_free("filler");
}

static void test_mmap(void)
{
	struct pdma_alloc a;
	void *p, *q;

	if (do_alloc("map", 4 * 4096, 0, &a)) {
		report("mmap_setup", 0, "alloc failed: %s", strerrorname_np(errno));
		return;
	}
	p = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, a.offset);
	report("mmap_past_end_einval", p == MAP_FAILED && errno == EINVAL, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, a.offset);
	report("mmap_private_einval", p == MAP_FAILED && errno == EINVAL, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, a.offset + 4096);
	report("mmap_offset_inside_allocation_einval", p == MAP_FAILED && errno == EINVAL,
	       "got %s", p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	report("mmap_offset_of_table_einval", p == MAP_FAILED && errno == EINVAL, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, a.offset);
	if (p == MAP_FAILED) {
		report("mmap_whole_allocation", 0, "mmap failed: %s", strerrorname_np(errno));
		return;
	}
	report("mmap_whole_allocation", 1, "ok");
	memset(p, 0xa5, 4 * 4096);
	EXPECT_ERRNO("free_while_mapped_ebusy", EBUSY, do_free("map"));
	/* A fork'd or split mapping keeps its own count. */
	q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, a.offset);
	munmap(p, 4 * 4096);
	EXPECT_ERRNO("free_while_second_mapping_ebusy", EBUSY, do_free("map"));
	munmap(q, 4096);
	report("free_after_munmap_succeeds", do_free("map") == 0, "errno %s",
	       strerrorname_np(errno));
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* 8 MiB at 2 MiB alignment, every 4 KiB page touched: 4 PMD faults. */
static void test_huge_mapping(void)
{
	const __u64 len = 8ULL << 20;
	struct pdma_alloc a;
	volatile char *p;
	long before;

	if (do_alloc("huge", len, 2ULL << 20, &a)) {
		report("mmap_2m_aligned_maps_pmds", 0, "alloc failed: %s", strerrorname_np(errno));
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, a.offset);
	if (p == MAP_FAILED) {
		report("mmap_2m_aligned_maps_pmds", 0, "mmap failed: %s", strerrorname_np(errno));
		do_free("huge");
		return;
	}
	before = minor_faults();
	for (__u64 off = 0; off < len; off += 4096)
		p[off] = 1;
	report("mmap_2m_aligned_maps_pmds", minor_faults() - before == 4,
	       "%ld faults for 8 MiB, want 4 (address %p)", minor_faults() - before, (void *)p);
	munmap((void *)p, len);
	do_free("huge");
}

/* An O_RDONLY fd reads, maps read-only, and changes nothing. */
static void test_readonly_fd(const char *path)
{
	struct pdma_lookup lk = { 0 };
	struct pdma_free fr = { 0 };
	struct pdma_info info = { 0 };
	struct pdma_alloc a, req = areq("ro", 4096, 0);
	int ro;
	void *p;

	if (do_alloc("rodata", 4096, 0, &a)) {
		report("rdonly_setup", 0, "alloc failed: %s", strerrorname_np(errno));
		return;
	}
	ro = open(path, O_RDONLY);
	EXPECT_ERRNO("rdonly_alloc_ebadf", EBADF, ioctl(ro, PDMA_IOC_ALLOC, &req));
	strcpy(fr.name, "rodata");
	EXPECT_ERRNO("rdonly_free_ebadf", EBADF, ioctl(ro, PDMA_IOC_FREE, &fr));
	strcpy(lk.entry.name, "rodata");
	EXPECT_ERRNO("rdonly_lookup_ebadf", EBADF, ioctl(ro, PDMA_IOC_LOOKUP, &lk));
	report("rdonly_info_works", ioctl(ro, PDMA_IOC_INFO, &info) == 0 && info.nr_entries >= 1,
	       "errno %s entries %u", strerrorname_np(errno), info.nr_entries);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, a.offset);
	report("rdonly_map_shared_read", p != MAP_FAILED, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ro, a.offset);
	report("rdonly_map_private_einval", p == MAP_FAILED && errno == EINVAL, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	close(ro);
	do_free("rodata");
}

/* An fd opened without CAP_SYS_RAWIO learns no physical address. */
static void test_no_rawio(const char *path)
{
	struct pdma_info info = { 0 };
	struct pdma_lookup lk = { 0 };
	struct pdma_alloc a;
	int nf;
	void *p;

	/* Only the effective bit: the permitted one brings it back below. */
	if (cap_clear(CAP_SYS_RAWIO, CAPS_EFFECTIVE)) {
		report("norawio_setup", 0, "capset: %s", strerrorname_np(errno));
		return;
	}
	nf = open(path, O_RDWR);
	/* Later checks need it back: say so here, not as a phys of 0 there. */
	report("norawio_restore", cap_set(CAP_SYS_RAWIO, CAPS_EFFECTIVE, true) == 0,
	       "capset: %s", strerrorname_np(errno));
	if (nf < 0) {
		report("norawio_setup", 0, "open: %s", strerrorname_np(errno));
		return;
	}
	a = areq("nr", 4096, 0);
	report("norawio_alloc_phys_zero", ioctl(nf, PDMA_IOC_ALLOC, &a) == 0 &&
	       a.phys == 0 && a.offset != 0, "errno %s phys %#llx", strerrorname_np(errno),
	       (unsigned long long)a.phys);
	strcpy(lk.entry.name, "nr");
	report("norawio_lookup_phys_zero", ioctl(nf, PDMA_IOC_LOOKUP, &lk) == 0 &&
	       lk.entry.phys == 0, "phys %#llx", (unsigned long long)lk.entry.phys);
	report("norawio_info_base_zero", ioctl(nf, PDMA_IOC_INFO, &info) == 0 && info.base == 0 &&
	       info.size != 0, "base %#llx", (unsigned long long)info.base);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, nf, a.offset);
	report("norawio_mmap_eperm", p == MAP_FAILED && errno == EPERM, "got %s",
	       p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	/* The same calls on the privileged fd do see it. */
	memset(&lk, 0, sizeof(lk));
	strcpy(lk.entry.name, "nr");
	report("rawio_lookup_phys", ioctl(fd, PDMA_IOC_LOOKUP, &lk) == 0 && lk.entry.phys != 0,
	       "phys %#llx", (unsigned long long)lk.entry.phys);
	close(nf);
	do_free("nr");
}

/* read() covers the two table copies and stops at the data area. */
static void test_read_table_only(void)
{
	struct pdma_info info = { 0 };
	static char buf[1 << 20];
	ssize_t n, total = 0;

	if (ioctl(fd, PDMA_IOC_INFO, &info)) {
		report("read_setup", 0, "info: %s", strerrorname_np(errno));
		return;
	}
	n = pread(fd, buf, sizeof(buf), info.data_offset);
	report("read_at_data_offset_eof", n == 0, "pread returned %zd", n);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	report("read_returns_table_area", total == (ssize_t)info.data_offset,
	       "read %zd bytes, table area %llu", total, (unsigned long long)info.data_offset);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/pdma";

	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "pdma_abi_test: %s: %s (is pdma loaded?)\n", path, strerror(errno));
		return 1;
	}
	test_alloc_args();
	test_names();
	test_lookup_free_list();
	test_exhaustion();
	test_mmap();
	test_huge_mapping();
	test_readonly_fd(path);
	test_no_rawio(path);
	test_read_table_only();
	close(fd);
	return failures ? 1 : 0;
}
