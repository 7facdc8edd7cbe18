// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libpdma: thin, errno-returning wrappers around the /dev/pdma ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpdma.h"

struct pdma {
	int fd;
};

int pdma_open(const char *path, struct pdma **out)
{
	struct pdma *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = open(path ? path : PDMA_DEFAULT_PATH, O_RDWR | O_CLOEXEC);
	if (p->fd < 0) {
		int err = -errno;

		free(p);
		return err;
	}
	*out = p;
	return 0;
}

void pdma_close(struct pdma *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}

int pdma_fd(const struct pdma *p)
{
	return p->fd;
}

static int pdma_ioctl(struct pdma *p, unsigned long cmd, void *arg)
{
	return ioctl(p->fd, cmd, arg) ? -errno : 0;
}

/* Names are fixed-size, NUL-padded fields; reject what cannot fit. */
static int pdma_copy_name(char dst[PDMA_NAME_MAX], const char *name)
{
	size_t len = strnlen(name, PDMA_NAME_MAX);

	if (len == 0)
		return -EINVAL;
	if (len == PDMA_NAME_MAX)
		return -ENAMETOOLONG;
	memset(dst, 0, PDMA_NAME_MAX);
	memcpy(dst, name, len);
	return 0;
}

int pdma_info(struct pdma *p, struct pdma_info *info)
{
	memset(info, 0, sizeof(*info));
	return pdma_ioctl(p, PDMA_IOC_INFO, info);
}

int pdma_alloc(struct pdma *p, const char *name, uint64_t size, uint64_t align,
	       uint32_t flags, struct pdma_entry_info *out)
{
	struct pdma_alloc req = { .size = size, .align = align, .flags = flags };
	int ret;

	ret = pdma_copy_name(req.name, name);
	if (ret)
		return ret;
	ret = pdma_ioctl(p, PDMA_IOC_ALLOC, &req);
	if (ret || !out)
		return ret;
	/* Report the new entry exactly as LOOKUP would. */
	return pdma_lookup(p, name, out);
}

int pdma_lookup(struct pdma *p, const char *name, struct pdma_entry_info *out)
{
	struct pdma_lookup req = { 0 };
	int ret;

	ret = pdma_copy_name(req.entry.name, name);
	if (ret)
		return ret;
	ret = pdma_ioctl(p, PDMA_IOC_LOOKUP, &req);
	if (!ret && out)
		*out = req.entry;
	return ret;
}

int pdma_free(struct pdma *p, const char *name)
{
	struct pdma_free req = { 0 };
	int ret;

	ret = pdma_copy_name(req.name, name);
	if (ret)
		return ret;
	return pdma_ioctl(p, PDMA_IOC_FREE, &req);
}

int pdma_list(struct pdma *p, uint32_t *cursor, struct pdma_entry_info *out)
{
	struct pdma_list req = { .cursor = *cursor };
	int ret;

	ret = pdma_ioctl(p, PDMA_IOC_LIST, &req);
	if (ret)
		return ret;
	*cursor = req.cursor;
	*out = req.entry;
	return 0;
}

int pdma_map(struct pdma *p, const struct pdma_entry_info *e, struct pdma_mapping *m)
{
	void *addr;

	addr = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, (off_t)e->offset);
	if (addr == MAP_FAILED)
		return -errno;
	m->addr = addr;
	m->phys = e->phys;
	m->len = e->size;
	return 0;
}

int pdma_unmap(struct pdma_mapping *m)
{
	if (munmap(m->addr, m->len))
		return -errno;
	m->addr = NULL;
	return 0;
}

ssize_t pdma_read_raw(struct pdma *p, void *buf, size_t len, uint64_t offset)
{
	ssize_t n = pread(p->fd, buf, len, (off_t)offset);

	return n < 0 ? -errno : n;
}

const char *pdma_state_str(uint32_t state)
{
	switch (state) {
	case PDMA_ENTRY_ALLOCATED:
		return "allocated";
	case PDMA_ENTRY_PRESERVED:
		return "preserved-unclaimed";
	case PDMA_ENTRY_CLAIMED:
		return "claimed";
	case PDMA_ENTRY_FREE:
		return "free";
	default:
		return "unknown";
	}
}
