/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pdma driver internals shared by pdma_main.c, pdma_ioctl.c and pdma_mmap.c.
 */
#ifndef _PDMA_DRV_H
#define _PDMA_DRV_H

#include <linux/miscdevice.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "pdma_core.h"

/**
 * struct pdma_dev - the one pdma region of this kernel
 * @lock:       serialises every table mutation and protects @core,
 *              @map_count and @state_flags; the fault path takes no lock
 *              because FREE refuses mapped allocations (see pdma_do_free())
 * @core:       allocator and table state (pure core)
 * @map_count:  live VMAs per table slot, indexed by slot id. CPU mappings
 *              only: an IOMMU mapping (VFIO type1 MAP_DMA) of a buffer
 *              holds no count, so FREE cannot see it; a driver must unmap
 *              its DMA before freeing
 * @state_flags: PDMA_STATE_* reported by INFO and sysfs
 * @base:       physical base of the region
 * @size:       region size in bytes
 * @table_size: bytes of the table area (both copies), what read() returns
 * @virt:       kernel mapping of the whole region (write-back)
 * @misc:       /dev/pdma
 */
struct pdma_dev {
	struct mutex lock;	/* see @lock above */
	struct pdma_core *core;
	unsigned int *map_count;
	u32 state_flags;
	phys_addr_t base;
	u64 size;
	u64 table_size;
	void *virt;
	struct miscdevice misc;
};

bool pdma_may_see_phys(const struct file *file);
pgprot_t pdma_user_pgprot(pgprot_t prot);
long pdma_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int pdma_mmap(struct file *file, struct vm_area_struct *vma);
unsigned long pdma_get_unmapped_area(struct file *file, unsigned long addr,
				     unsigned long len, unsigned long pgoff,
				     unsigned long flags);

static inline struct pdma_dev *pdma_from_file(struct file *file)
{
	struct miscdevice *misc = file->private_data;

	return container_of(misc, struct pdma_dev, misc);
}

#endif /* _PDMA_DRV_H */
