/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libpdma: a small C API over /dev/pdma for userspace drivers.
 *
 * Every function returns 0 or a negative errno; none of them exits or
 * prints. A buffer is named, so a driver re-finds it after kexec with
 * pdma_lookup() and maps it again at the same physical address.
 */
#ifndef LIBPDMA_H
#define LIBPDMA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/pdma.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PDMA_DEFAULT_PATH "/dev/pdma"

struct pdma;

/** struct pdma_mapping - one mapped allocation */
struct pdma_mapping {
	void *addr;	/* user virtual address */
	uint64_t phys;	/* physical (= DMA, under noiommu) address of addr */
	size_t len;	/* mapped bytes */
};

int pdma_open(const char *path, struct pdma **out);
void pdma_close(struct pdma *p);
int pdma_fd(const struct pdma *p);

int pdma_info(struct pdma *p, struct pdma_info *info);
int pdma_alloc(struct pdma *p, const char *name, uint64_t size, uint64_t align,
	       uint32_t flags, struct pdma_entry_info *out);
/* Claim a preserved entry (or find a live one) by name. */
int pdma_lookup(struct pdma *p, const char *name, struct pdma_entry_info *out);
int pdma_free(struct pdma *p, const char *name);
/* Walk entries: start with *cursor = 0; -ENOENT after the last one. */
int pdma_list(struct pdma *p, uint32_t *cursor, struct pdma_entry_info *out);

/* Map a whole allocation (MAP_SHARED) and return its address and phys. */
int pdma_map(struct pdma *p, const struct pdma_entry_info *e, struct pdma_mapping *m);
int pdma_unmap(struct pdma_mapping *m);

/* Read raw region bytes (both table copies start at offset 0). */
ssize_t pdma_read_raw(struct pdma *p, void *buf, size_t len, uint64_t offset);

const char *pdma_state_str(uint32_t entry_state);

#ifdef __cplusplus
}
#endif
#endif /* LIBPDMA_H */
