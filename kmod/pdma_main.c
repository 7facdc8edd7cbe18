// SPDX-License-Identifier: GPL-2.0
/*
 * pdma: persistent DMA buffers carved from a memmap= reserved range.
 *
 * The range comes from the base= and size= parameters (pdmactl range
 * prints them for the memmap= of the running kernel, for modprobe.d). At
 * load the module validates the range, maps it, and either formats a
 * fresh table (empty range), adopts the table a previous kernel left there
 * (every entry becomes preserved until claimed by LOOKUP), or, when the
 * table is present but unusable, stays read-only and touches nothing. See
 * the DOC block in uapi/linux/pdma_table.h for the format.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pdma.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pdma_drv.h"

static unsigned long long base;
module_param_hw(base, ullong, iomem, 0444);
MODULE_PARM_DESC(base, "Physical base of the reserved range (required; see pdmactl range)");

static unsigned long long size;
module_param_hw(size, ullong, iomem, 0444);
MODULE_PARM_DESC(size, "Size of the reserved range in bytes (required; see pdmactl range)");

static unsigned int capacity = 1024;
module_param(capacity, uint, 0444);
MODULE_PARM_DESC(capacity, "Table entries when formatting a fresh region (default 1024); an existing table keeps its own");

static bool format;
module_param(format, bool, 0444);
MODULE_PARM_DESC(format, "DATA LOSS: reformat a corrupt or mismatched table instead of staying read-only");

static struct pdma_dev pdma_dev = {
	.lock = __MUTEX_INITIALIZER(pdma_dev.lock),
};

static const char *pdma_state_name(u32 flags)
{
	if (flags & PDMA_STATE_READONLY)
		return "read-only-corrupt";
	if (flags & PDMA_STATE_ADOPTED)
		return "adopted";
	return "fresh";
}

/*
 * Stores into the region from the core's commit path. The commit protocol
 * needs each call's stores visible before the next call's (the CRC lands
 * last), also to a CPU that panics into a kdump kernel: hence the wmb().
 */
static void pdma_region_write(void *ctx, u64 off, const void *src, size_t len)
{
	struct pdma_dev *pdma = ctx;

	lockdep_assert_held(&pdma->lock);
	memcpy(pdma->virt + off, src, len);
	/* Order this store before the next one: the CRC store comes last. */
	wmb();
}

static const struct pdma_core_ops pdma_region_ops = {
	.write = pdma_region_write,
};

/* One read() copies at most this much, through a kernel bounce buffer. */
#define PDMA_READ_MAX	SZ_1M

/*
 * read() returns the table area (both copies) and nothing past it: the
 * data area holds the buffers of whoever allocated them, which a reader of
 * the table has no business seeing.
 */
static ssize_t pdma_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct pdma_dev *pdma = pdma_from_file(file);
	loff_t pos = *ppos;
	void *bounce;
	size_t len;

	if (pos < 0)
		return -EINVAL;
	if (pos >= pdma->table_size || !count)
		return 0;
	len = min3(count, (size_t)(pdma->table_size - pos), (size_t)PDMA_READ_MAX);
	bounce = kvmalloc(len, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	/*
	 * Copy under the lock so a commit cannot tear the bytes, but copy to
	 * user space outside it: a fault there takes mmap_lock, which mmap()
	 * holds while it takes pdma->lock.
	 */
	mutex_lock(&pdma->lock);
	memcpy(bounce, pdma->virt + pos, len);
	mutex_unlock(&pdma->lock);
	if (copy_to_user(buf, bounce, len)) {
		kvfree(bounce);
		return -EFAULT;
	}
	kvfree(bounce);
	*ppos = pos + len;
	return len;
}

static const struct file_operations pdma_fops = {
	.owner = THIS_MODULE,
	.read = pdma_read,
	.unlocked_ioctl = pdma_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = pdma_mmap,
	.get_unmapped_area = pdma_get_unmapped_area,
	.llseek = default_llseek,
};

/*
 * sysfs: read-only view of INFO under /sys/class/misc/pdma/. _decl is
 * DEVICE_ATTR_RO, or DEVICE_ATTR_ADMIN_RO for what only root may read.
 */
#define PDMA_INFO_ATTR(_name, _decl, _fmt, _expr)				\
static ssize_t _name##_show(struct device *dev, struct device_attribute *attr,	\
			    char *buf)						\
{										\
	struct pdma_dev *pdma = &pdma_dev;					\
	struct pdma_core_info ci;						\
	ssize_t ret;								\
										\
	mutex_lock(&pdma->lock);						\
	pdma_core_info(pdma->core, &ci);					\
	ret = sysfs_emit(buf, _fmt "\n", _expr);				\
	mutex_unlock(&pdma->lock);						\
	return ret;								\
}										\
static _decl(_name)

/* The physical base is for root only, as in /proc/iomem. */
PDMA_INFO_ATTR(base, DEVICE_ATTR_ADMIN_RO, "%#llx", (unsigned long long)pdma->base);
PDMA_INFO_ATTR(size, DEVICE_ATTR_RO, "%llu", pdma->size);
PDMA_INFO_ATTR(free, DEVICE_ATTR_RO, "%llu", ci.free_bytes);
PDMA_INFO_ATTR(generation, DEVICE_ATTR_RO, "%llu", ci.generation);
PDMA_INFO_ATTR(entries, DEVICE_ATTR_RO, "%u", ci.nr_entries);
PDMA_INFO_ATTR(state, DEVICE_ATTR_RO, "%s", pdma_state_name(pdma->state_flags));

static struct attribute *pdma_attrs[] = {
	&dev_attr_base.attr,
	&dev_attr_size.attr,
	&dev_attr_free.attr,
	&dev_attr_generation.attr,
	&dev_attr_entries.attr,
	&dev_attr_state.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pdma);

/* walk_iomem_res_desc() callback: extend the covered prefix of a range. */
static int pdma_reserved_part(struct resource *res, void *arg)
{
	u64 *pos = arg;

	/* A gap before this part: the range is not reserved throughout. */
	if (res->start > *pos)
		return 1;
	*pos = max_t(u64, *pos, res->end + 1);
	return 0;
}

/*
 * The range must be page aligned, clear of System RAM, and reserved memory
 * from end to end (what memmap=SIZE$START creates): anything else, such as
 * a hole or an unclaimed PCI BAR, must never get a table written into it.
 */
static int pdma_check_range(u64 start, u64 len)
{
	u64 pos = start;

	if (!len || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(len) || start + len < start) {
		pr_err("range %#llx+%#llx is empty or not page aligned\n", start, len);
		return -EINVAL;
	}
	if (region_intersects(start, len, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_DISJOINT) {
		pr_err("range %#llx+%#llx overlaps System RAM; reserve it with memmap=%llu$%#llx on the kernel command line\n",
		       start, len, len, start);
		return -EBUSY;
	}
	walk_iomem_res_desc(IORES_DESC_RESERVED, IORESOURCE_MEM, start, start + len - 1,
			    &pos, pdma_reserved_part);
	if (pos < start + len) {
		pr_err("range %#llx+%#llx is not reserved memory from %#llx on (see /proc/iomem); reserve it with memmap=%llu$%#llx\n",
		       start, len, pos, len, start);
		return -EINVAL;
	}
	return 0;
}

/* Stay read-only: the table is there but must not be touched. */
static void pdma_stay_readonly(struct pdma_dev *pdma, const char *why)
{
	lockdep_assert_held(&pdma->lock);
	pdma->state_flags = PDMA_STATE_READONLY;
	pr_err("table at %pa is unusable (%s); staying read-only and refusing allocations. Inspect it with pdma-dump; reload with format=1 to discard it (DATA LOSS)\n",
	       &pdma->base, why);
}

static void pdma_adopt(struct pdma_dev *pdma, const struct pdma_load_report *rep)
{
	struct pdma_core_info ci;
	int ret;

	lockdep_assert_held(&pdma->lock);
	ret = pdma_core_adopt(pdma->core);
	if (ret) {
		/* Only -EOVERFLOW: the generation is at its limit. */
		pdma_stay_readonly(pdma, "generation exhausted, no commit possible");
		return;
	}
	pdma->state_flags = PDMA_STATE_ADOPTED;
	pdma_core_info(pdma->core, &ci);
	pr_info("adopted table at %pa from copy %c: %u entries, generation %llu, adoption %u\n",
		&pdma->base, 'A' + rep->used, ci.nr_entries, ci.generation, ci.adopt_count);
}

/*
 * Format, adopt or stay read-only, per the load policy in the DOC block.
 * This is the first store into the region, so it runs last in init, when
 * nothing can fail any more: a failed load leaves the table as it was.
 */
static void pdma_attach(struct pdma_dev *pdma)
{
	struct pdma_load_report rep;
	struct pdma_core_info ci;
	char why[160];

	lockdep_assert_held(&pdma->lock);
	switch (pdma_core_load(pdma->core, &rep)) {
	case PDMA_LOAD_OK:
		pdma_adopt(pdma, &rep);
		return;
	case PDMA_LOAD_EMPTY:
		break;
	case PDMA_LOAD_CORRUPT:
	case PDMA_LOAD_MISMATCH:
		snprintf(why, sizeof(why), "copy A: %s, copy B: %s",
			 pdma_copy_status_str(rep.copy[0].status),
			 pdma_copy_status_str(rep.copy[1].status));
		if (!format) {
			pdma_stay_readonly(pdma, why);
			return;
		}
		pr_warn("format=1: discarding unusable table at %pa (%s)\n", &pdma->base, why);
		break;
	}
	/* A core with a store hook formats without fail. */
	pdma_core_format(pdma->core);
	pdma->state_flags = PDMA_STATE_FRESH;
	pdma_core_info(pdma->core, &ci);
	pr_info("formatted fresh table at %pa: capacity %u, data at offset %#llx\n",
		&pdma->base, ci.capacity, ci.data_offset);
}

/*
 * capacity= only sizes a fresh table: an existing table is adopted with the
 * capacity it was formatted with, taken from whichever copy passes its CRC
 * (see pdma_core_probe_capacity()). With no valid copy, the parameter is
 * used and the load then says what is wrong with the table.
 */
static u32 pdma_table_capacity(struct pdma_dev *pdma, u64 start, u64 len)
{
	u32 cap = pdma_core_probe_capacity(pdma->virt, len, start, len);

	if (cap && cap != capacity) {
		pr_info("using the table's capacity %u, not capacity=%u\n", cap, capacity);
		return cap;
	}
	return capacity;
}

static int pdma_create_core(struct pdma_dev *pdma, u64 start, u64 len)
{
	u32 cap = pdma_table_capacity(pdma, start, len);
	struct pdma_core_config cfg = {
		.base = start,
		.size = len,
		.capacity = cap,
		.table = pdma->virt,
		.ops = &pdma_region_ops,
		.ctx = pdma,
	};
	struct pdma_core_info ci;
	int ret;

	ret = pdma_core_create(&cfg, &pdma->core);
	if (ret) {
		pr_err("range %#llx+%#llx cannot hold a table of %u entries (%d)\n",
		       start, len, cap, ret);
		return ret;
	}
	pdma_core_info(pdma->core, &ci);
	pdma->table_size = ci.data_offset;
	pdma->map_count = kcalloc(ci.capacity, sizeof(*pdma->map_count), GFP_KERNEL);
	if (!pdma->map_count) {
		pdma_core_destroy(pdma->core);
		return -ENOMEM;
	}
	return 0;
}

static int __init pdma_init(void)
{
	struct pdma_dev *pdma = &pdma_dev;
	u64 start = base, len = size;
	int ret;

	if (!start || !len) {
		pr_err("no range: pass base= and size= of a memmap=SIZE$START range ('pdmactl range' prints them)\n");
		return -EINVAL;
	}
	ret = pdma_check_range(start, len);
	if (ret)
		return ret;
	/* Exclusive: not even /dev/mem may map the range while it is ours. */
	if (!request_mem_region_exclusive(start, len, "pdma")) {
		pr_err("range %#llx+%#llx is already claimed (see /proc/iomem)\n", start, len);
		return -EBUSY;
	}
	pdma->base = start;
	pdma->size = len;
	pdma->virt = memremap(start, len, MEMREMAP_WB);
	if (!pdma->virt) {
		pr_err("cannot map range %#llx+%#llx\n", start, len);
		ret = -ENOMEM;
		goto err_release_region;
	}
	ret = pdma_create_core(pdma, start, len);
	if (ret)
		goto err_unmap;
	pdma->misc = (struct miscdevice) {
		.minor = MISC_DYNAMIC_MINOR,
		.name = "pdma",
		.fops = &pdma_fops,
		.mode = 0600,
		.groups = pdma_groups,
	};
	/*
	 * Held from before the device exists until the table is attached,
	 * so that the first opener waits for it instead of seeing a core
	 * that is not loaded yet.
	 */
	mutex_lock(&pdma->lock);
	ret = misc_register(&pdma->misc);
	if (ret) {
		mutex_unlock(&pdma->lock);
		pr_err("cannot register /dev/pdma (%d), table left untouched; is the name taken (ls /sys/class/misc)?\n",
		       ret);
		/*
		 * modprobe reads -EEXIST from init_module() as "already
		 * loaded" and exits 0; newer kernels' module loader turns it
		 * into -EBUSY for that reason, and so does pdma on any kernel.
		 */
		if (ret == -EEXIST)
			ret = -EBUSY;
		goto err_destroy_core;
	}
	pdma_attach(pdma);
	mutex_unlock(&pdma->lock);
	return 0;

err_destroy_core:
	kfree(pdma->map_count);
	pdma_core_destroy(pdma->core);
err_unmap:
	memunmap(pdma->virt);
err_release_region:
	release_mem_region(start, len);
	return ret;
}

static void __exit pdma_exit(void)
{
	struct pdma_dev *pdma = &pdma_dev;

	misc_deregister(&pdma->misc);
	kfree(pdma->map_count);
	pdma_core_destroy(pdma->core);
	memunmap(pdma->virt);
	release_mem_region(pdma->base, pdma->size);
}

module_init(pdma_init);
module_exit(pdma_exit);
MODULE_DESCRIPTION("Persistent DMA buffers that survive kexec");
MODULE_LICENSE("GPL");
