/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two mm interfaces pdma uses that changed between 6.12 and 7.x, in
 * one place. An out-of-tree module built by DKMS against distro headers
 * cannot know from the version number alone what a vendor backported, so
 * Kbuild probes the headers it builds against (see the PDMA_HAVE_* lines
 * there) and this file picks the matching call. In tree, only the 7.x
 * branch would remain.
 */
#ifndef _PDMA_COMPAT_H
#define _PDMA_COMPAT_H

#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#ifdef PDMA_HAVE_PFN_T
#include <linux/pfn_t.h>
#endif

#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
/* 7.x dropped pfn_t: vmf_insert_pfn_pmd() takes the pfn itself. */
static inline vm_fault_t pdma_insert_pfn_pmd(struct vm_fault *vmf,
					     unsigned long pfn, bool write)
{
#ifdef PDMA_HAVE_PFN_T
	return vmf_insert_pfn_pmd(vmf, __pfn_to_pfn_t(pfn, PFN_DEV), write);
#else
	return vmf_insert_pfn_pmd(vmf, pfn, write);
#endif
}
#endif

/* 7.x dropped the mm argument: it is always current->mm. */
static inline unsigned long pdma_mm_get_unmapped_area(struct file *file,
						      unsigned long addr,
						      unsigned long len,
						      unsigned long pgoff,
						      unsigned long flags)
{
#ifdef PDMA_HAVE_GUA_MM
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#else
	return mm_get_unmapped_area(file, addr, len, pgoff, flags);
#endif
}

#endif /* _PDMA_COMPAT_H */
