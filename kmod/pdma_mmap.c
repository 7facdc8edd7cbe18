// SPDX-License-Identifier: GPL-2.0
/*
 * pdma mmap: allocations are mapped as PFN maps of the reserved range,
 * write-back cached, with PMD entries wherever the allocation and the user
 * address are both 2 MiB aligned.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>

#include "pdma_compat.h"
#include "pdma_drv.h"

static unsigned long pdma_vma_pfn(struct vm_area_struct *vma, unsigned long addr)
{
	struct pdma_dev *pdma = pdma_from_file(vma->vm_file);

	return PHYS_PFN(pdma->base) + vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/**
 * pdma_user_pgprot() - page protection of a user mapping of the range
 * @prot: vm_get_page_prot() of the VMA
 *
 * memremap(MEMREMAP_WB) maps reserved, non-RAM memory decrypted; the user
 * mapping must agree, or with memory encryption active the two would see
 * different bytes.
 *
 * Return: @prot without the encryption bit.
 */
pgprot_t pdma_user_pgprot(pgprot_t prot)
{
	return pgprot_decrypted(prot);
}

static vm_fault_t pdma_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & ~((PAGE_SIZE << order) - 1);
	unsigned long pfn = pdma_vma_pfn(vma, addr);

	/*
	 * No lock: the allocation behind this VMA cannot be freed while the
	 * VMA exists, because FREE fails with -EBUSY on a non-zero map count.
	 */
	if (order && (addr < vma->vm_start ||
		      addr + (PAGE_SIZE << order) > vma->vm_end ||
		      pfn & ((1UL << order) - 1)))
		return VM_FAULT_FALLBACK;

	switch (order) {
	case 0:
		return vmf_insert_pfn(vma, vmf->address, pfn);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	case PMD_ORDER:
		return pdma_insert_pfn_pmd(vmf, pfn,
					   vmf->flags & FAULT_FLAG_WRITE);
#endif
	default:
		return VM_FAULT_FALLBACK;
	}
}

static vm_fault_t pdma_fault(struct vm_fault *vmf)
{
	return pdma_huge_fault(vmf, 0);
}

static void pdma_vm_count(struct vm_area_struct *vma, int delta)
{
	struct pdma_dev *pdma = pdma_from_file(vma->vm_file);
	unsigned long slot = (unsigned long)vma->vm_private_data;

	mutex_lock(&pdma->lock);
	pdma->map_count[slot] += delta;
	mutex_unlock(&pdma->lock);
}

/* A VMA split or fork duplicates the mapping; each copy holds a count. */
static void pdma_vm_open(struct vm_area_struct *vma)
{
	pdma_vm_count(vma, 1);
}

static void pdma_vm_close(struct vm_area_struct *vma)
{
	pdma_vm_count(vma, -1);
}

static const struct vm_operations_struct pdma_vm_ops = {
	.open = pdma_vm_open,
	.close = pdma_vm_close,
	.fault = pdma_fault,
#ifdef CONFIG_ARCH_SUPPORTS_HUGE_PFNMAP
	.huge_fault = pdma_huge_fault,
#endif
};

/**
 * pdma_mmap() - map one allocation of the region
 * @file: /dev/pdma
 * @vma:  vm_pgoff is the allocation's offset from the region base
 *
 * The mapping must be shared, start exactly at an allocation and fit inside
 * it. Private mappings would let COW pages shadow DMA memory, so they are
 * refused; a shared mapping of an O_RDONLY fd (from which do_mmap() clears
 * VM_SHARED but which can never be written) is fine. Mapping needs an fd
 * opened with CAP_SYS_RAWIO, as /dev/mem does. The user mapping is
 * decrypted, like the kernel's memremap() of the range, so that with
 * SME/SEV both see the same bytes (as vfio-pci does for BARs).
 *
 * Return: 0, -EPERM without CAP_SYS_RAWIO, or -EINVAL for a private
 * mapping, an offset that does not start an allocation, or a length past
 * its end.
 */
int pdma_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pdma_dev *pdma = pdma_from_file(file);
	u64 offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	struct pdma_core_entry ent;
	u32 cursor = 0;
	int ret;

	if (!pdma_may_see_phys(file))
		return -EPERM;
	if (is_cow_mapping(vma->vm_flags)) {
		pr_debug("pdma: mmap of %#llx refused: MAP_PRIVATE\n", offset);
		return -EINVAL;
	}

	mutex_lock(&pdma->lock);
	/* A linear walk: mmap is rare next to the I/O it sets up. */
	while (!(ret = pdma_core_next_entry(pdma->core, &cursor, &ent)))
		if (ent.offset == offset)
			break;
	if (ret || len > ent.size) {
		pr_debug("pdma: mmap offset %#llx len %#llx is not inside an allocation\n",
			 offset, len);
		ret = -EINVAL;
		goto out_unlock;
	}
	pdma->map_count[ent.id]++;
	vma->vm_private_data = (void *)(unsigned long)ent.id;
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP | VM_HUGEPAGE);
	vma->vm_page_prot = pdma_user_pgprot(vma->vm_page_prot);
	vma->vm_ops = &pdma_vm_ops;
out_unlock:
	mutex_unlock(&pdma->lock);
	return ret;
}

/**
 * pdma_get_unmapped_area() - pick a user address congruent to the physical
 * address modulo 2 MiB, so 2 MiB-aligned allocations get PMD mappings
 * @file:  /dev/pdma
 * @addr:  hint, honoured as is when non-zero
 * @len:   mapping length
 * @pgoff: allocation offset in pages
 * @flags: mmap flags
 *
 * Return: the address, or a negative errno as from mm_get_unmapped_area().
 */
unsigned long pdma_get_unmapped_area(struct file *file, unsigned long addr,
				     unsigned long len, unsigned long pgoff,
				     unsigned long flags)
{
	struct pdma_dev *pdma = pdma_from_file(file);
	u64 phys = pdma->base + ((u64)pgoff << PAGE_SHIFT);
	unsigned long padded, area;

	if (addr || (flags & MAP_FIXED) || len < PMD_SIZE ||
	    check_add_overflow(len, PMD_SIZE, &padded))
		goto plain;
	area = pdma_mm_get_unmapped_area(file, 0, padded, pgoff, flags);
	if (IS_ERR_VALUE(area))
		goto plain;
	return area + ((phys - area) & (PMD_SIZE - 1));
plain:
	return pdma_mm_get_unmapped_area(file, addr, len, pgoff, flags);
}
