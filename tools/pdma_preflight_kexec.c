// SPDX-License-Identifier: GPL-2.0
/*
 * pdmactl preflight, the loader checks: did the kexec that booted this
 * kernel write into the range (boot), will the next one (kexec), and the
 * kexec_file_load of --load. See pdma_preflight.c for the whole check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <unistd.h>

#include "pdma_preflight_int.h"

static bool overlaps(struct pf *pf, uint64_t a, uint64_t b)
{
	return a <= pf->last && b >= pf->base;
}

/*
 * This boot's boot_params (setup header up to hdr.ramdisk_size), when a
 * kexec loaded this kernel (hdr.type_of_loader 0xD?, set by kexec-tools
 * and by kexec_file_load alike). After a cold boot the range held nothing
 * to preserve, wherever firmware or a boot loader put the kernel.
 */
static bool kexec_boot_params(unsigned char *bp, size_t len)
{
	int fd = open("/sys/kernel/boot_params/data", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, bp, len, 0);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)len && bp[0x210] >> 4 == 0xD;
}

/* Where this kernel sits: "Kernel code" and friends in /proc/iomem. */
static void check_boot_image(struct pf *pf)
{
	char *text = read_text("/proc/iomem"), *line, *save;
	uint64_t a, b;
	int off;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, " %" SCNx64 "-%" SCNx64 " : %n", &a, &b, &off) == 2 &&
		    !strncmp(line + off, "Kernel ", 7) && overlaps(pf, a, b)) {
			fail(pf, "boot", "this kernel's image (%s %#" PRIx64 "-%#" PRIx64 ") lies in the range %#" PRIx64 "-%#" PRIx64 ": the kexec that booted it (kexec -l) wrote it there and the range's content is lost",
			     line + off, a, b, pf->base, pf->last);
			break;
		}
	}
	free(text);
}

/* Where the loader put this kernel's initrd: hdr.ramdisk_image/size. */
static void check_boot_initrd(struct pf *pf, const unsigned char *bp)
{
	uint32_t lo, hi, slo, shi;
	uint64_t a, n;

	memcpy(&lo, bp + 0x218, 4);	/* hdr.ramdisk_image */
	memcpy(&slo, bp + 0x21c, 4);	/* hdr.ramdisk_size */
	memcpy(&hi, bp + 0x0c0, 4);	/* ext_ramdisk_image */
	memcpy(&shi, bp + 0x0c4, 4);	/* ext_ramdisk_size */
	a = (uint64_t)hi << 32 | lo;
	n = (uint64_t)shi << 32 | slo;
	if (n && overlaps(pf, a, a + n - 1))
		fail(pf, "boot", "this kernel's initrd was loaded at %#" PRIx64 "-%#" PRIx64 ", in the range %#" PRIx64 "-%#" PRIx64 ": the kexec that booted it (kexec -l) wrote it there and the range's content is lost",
		     a, a + n - 1, pf->base, pf->last);
}

/* Did the kexec that booted this kernel write into the range? */
void check_boot(struct pf *pf)
{
	unsigned char bp[0x220];

	if (!kexec_boot_params(bp, sizeof(bp)))
		return;
	check_boot_image(pf);
	check_boot_initrd(pf, bp);
}

/* Does /sys/firmware/memmap call any of the range System RAM? */
static bool firmware_ram(struct pf *pf, uint64_t *a, uint64_t *b)
{
	char path[PATH_MAX], *s, *e, *t;
	struct dirent *d;
	DIR *dir = opendir("/sys/firmware/memmap");
	bool ram = false;

	if (!dir)
		return false;
	while (!ram && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/firmware/memmap/%s/start", d->d_name);
		s = read_text(path);
		snprintf(path, sizeof(path), "/sys/firmware/memmap/%s/end", d->d_name);
		e = read_text(path);
		snprintf(path, sizeof(path), "/sys/firmware/memmap/%s/type", d->d_name);
		t = read_text(path);
		if (s && e && t && !strncmp(t, "System RAM", 10)) {
			*a = strtoull(s, NULL, 0);
			*b = strtoull(e, NULL, 0);
			ram = overlaps(pf, *a, *b);
		}
		free(s);
		free(e);
		free(t);
	}
	closedir(dir);
	return ram;
}

/*
 * Whether kexec_file_load exists, without loading anything: a bad fd gets
 * EBADF from it and ENOSYS without CONFIG_KEXEC_FILE. When a kexec load
 * limit is set the probe would use one up, so it is not made.
 */
static int probe_kexec_file(void)
{
	char *limit = read_text("/proc/sys/kernel/kexec_load_limit_reboot");
	bool limited = limit && strncmp(limit, "-1", 2);

	free(limit);
	if (limited)
		return 0;
	if (syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0UL) == 0)
		return 0;
	return errno == EBADF ? 0 : -errno;
}

void check_kexec(struct pf *pf)
{
	uint64_t a = 0, b = 0;
	int ret = pf->load ? 0 : probe_kexec_file();

	if (ret == -ENOSYS)
		fail(pf, "kexec", "kexec_file_load is not available (CONFIG_KEXEC_FILE=n): only kexec -l, which does not know the range is in use");
	else if (ret)
		fail(pf, "kexec", "kexec_file_load refused: %s (needs CAP_SYS_BOOT and kexec_load_disabled=0)",
		     strerror(-ret));
	if (firmware_ram(pf, &a, &b) && !pf->load && !pf->kexec_file)
		fail(pf, "kexec", "/sys/firmware/memmap lists %#" PRIx64 "-%#" PRIx64 " as System RAM, so kexec -l (kexec_load) may write the next kernel into the range: load it with kexec -s (kexec_file_load) and pass --kexec-file, or let preflight load it (--load KERNEL)",
		     a, b);
}

int load_next_kernel(struct pf *pf, const char *cmdline)
{
	unsigned long flags = 0;
	int kfd, ifd = -1;

	kfd = open(pf->load, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		fail(pf, "kexec", "%s: %s", pf->load, strerror(errno));
		return 1;
	}
	if (pf->initrd) {
		ifd = open(pf->initrd, O_RDONLY | O_CLOEXEC);
		if (ifd < 0) {
			fail(pf, "kexec", "%s: %s", pf->initrd, strerror(errno));
			close(kfd);
			return 1;
		}
	} else {
		flags |= 1;	/* KEXEC_FILE_NO_INITRAMFS */
	}
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline, flags)) {
		fail(pf, "kexec", "kexec_file_load of %s: %s", pf->load, strerror(errno));
		flags = 2;
	}
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	if (flags == 2)
		return 1;
	printf("loaded %s with kexec_file_load (kexec -s); kexec -e boots it\n", pf->load);
	return 0;
}
