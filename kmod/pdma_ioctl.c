// SPDX-License-Identifier: GPL-2.0
/*
 * pdma ioctls. Each PDMA_IOC_* copies its struct in, checks that every
 * reserved field is zero, and calls pdma_do_*(), which owns the locking.
 *
 * Access: a change (ALLOC, FREE, and LOOKUP, which claims) needs an fd
 * opened for writing, else -EBADF. Physical addresses are reported only
 * to an fd opened with CAP_SYS_RAWIO, what /dev/mem requires; others read
 * them as 0.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/pdma.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pdma_drv.h"

static bool pdma_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* Zeroing runs in steps of this size, with a resched point between them. */
#define PDMA_ZERO_STEP	SZ_2M

/**
 * pdma_may_see_phys() - whether an fd may learn physical addresses
 * @file: /dev/pdma
 *
 * Judged on the credentials the fd was opened with, so a privileged
 * launcher can hand an fd to a service that keeps no capability.
 *
 * Return: true if the opener had CAP_SYS_RAWIO.
 */
bool pdma_may_see_phys(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_RAWIO);
}

static void pdma_fill_entry_info(struct pdma_dev *pdma, struct file *file,
				 const struct pdma_core_entry *ent,
				 struct pdma_entry_info *info)
{
	lockdep_assert_held(&pdma->lock);
	memset(info, 0, sizeof(*info));
	memcpy(info->name, ent->name, sizeof(info->name));
	info->size = ent->size;
	info->align = ent->align;
	info->offset = ent->offset;
	info->phys = pdma_may_see_phys(file) ? pdma->base + ent->offset : 0;
	info->create_gen = ent->create_gen;
	info->flags = ent->flags;
	info->state = ent->state;
	info->id = ent->id;
	info->map_count = pdma->map_count[ent->id];
}

static int pdma_do_info(struct pdma_dev *pdma, struct file *file, struct pdma_info *info)
{
	struct pdma_core_info ci;

	if (!pdma_zeroed(info->reserved, sizeof(info->reserved)))
		return -EINVAL;
	mutex_lock(&pdma->lock);
	pdma_core_info(pdma->core, &ci);
	info->base = pdma_may_see_phys(file) ? pdma->base : 0;
	info->size = pdma->size;
	info->data_offset = ci.data_offset;
	info->free_bytes = ci.free_bytes;
	info->largest_free = ci.largest_free;
	info->generation = ci.generation;
	info->adopt_count = ci.adopt_count;
	info->nr_entries = ci.nr_entries;
	info->capacity = ci.capacity;
	info->state_flags = pdma->state_flags;
	mutex_unlock(&pdma->lock);
	return 0;
}

/*
 * Zero a reserved extent, outside the lock: a 512 MiB buffer takes a while,
 * and munmap() and exit of every other pdma user need the lock meanwhile.
 * A fatal signal stops it; the caller then gives the extent back.
 */
static int pdma_zero(struct pdma_dev *pdma, u64 off, u64 size)
{
	u64 done, n;

	for (done = 0; done < size; done += n) {
		n = min_t(u64, size - done, PDMA_ZERO_STEP);
		memset(pdma->virt + off + done, 0, n);
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	/* The zeroes land before the commit that publishes the entry. */
	wmb();
	return 0;
}

/*
 * Reserve, zero, publish: the table records a ZERO buffer only once it is
 * zero, so a kexec or panic in between leaves no entry at all. While it
 * is zeroed the extent is reserved in memory, so nobody else gets it.
 */
static int pdma_do_alloc(struct pdma_dev *pdma, struct file *file, struct pdma_alloc *req)
{
	struct pdma_core_entry ent;
	u64 size = req->size, align = req->align, off;
	int ret;

	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)) || req->id || req->offset ||
	    req->phys)
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	mutex_lock(&pdma->lock);
	ret = pdma_core_reserve(pdma->core, req->name, &size, &align, req->flags, &off);
	mutex_unlock(&pdma->lock);
	if (ret)
		return ret;
	if (req->flags & PDMA_ALLOC_ZERO)
		ret = pdma_zero(pdma, off, size);
	mutex_lock(&pdma->lock);
	if (!ret)
		ret = pdma_core_publish(pdma->core, req->name, off, size, align, req->flags, &ent);
	if (ret)
		pdma_core_unreserve(pdma->core, off, size);
	mutex_unlock(&pdma->lock);
	if (ret)
		return ret;
	req->size = ent.size;
	req->id = ent.id;
	req->offset = ent.offset;
	req->phys = pdma_may_see_phys(file) ? pdma->base + ent.offset : 0;
	return 0;
}

static int pdma_do_lookup(struct pdma_dev *pdma, struct file *file, struct pdma_lookup *req)
{
	struct pdma_core_entry ent;
	char name[PDMA_NAME_MAX];
	int ret;

	/* Only the name is input; the rest of the entry must come in zeroed. */
	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)) ||
	    !pdma_zeroed((char *)&req->entry + sizeof(req->entry.name),
			 sizeof(req->entry) - sizeof(req->entry.name)))
		return -EINVAL;
	/* LOOKUP claims a preserved entry: a change. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	memcpy(name, req->entry.name, sizeof(name));
	mutex_lock(&pdma->lock);
	ret = pdma_core_claim(pdma->core, name, &ent);
	if (!ret)
		pdma_fill_entry_info(pdma, file, &ent, &req->entry);
	mutex_unlock(&pdma->lock);
	return ret;
}

static int pdma_do_free(struct pdma_dev *pdma, struct file *file, struct pdma_free *req)
{
	struct pdma_core_entry ent;
	int ret;

	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	mutex_lock(&pdma->lock);
	ret = pdma_core_lookup(pdma->core, req->name, &ent);
	if (ret < 0)
		goto out_unlock;
	/* A mapped allocation stays: no freed page may remain mapped. */
	if (pdma->map_count[ent.id]) {
		pr_info("pdma: FREE of '%s' refused: still mapped %u time(s)\n",
			ent.name, pdma->map_count[ent.id]);
		ret = -EBUSY;
		goto out_unlock;
	}
	ret = pdma_core_free(pdma->core, req->name);
out_unlock:
	mutex_unlock(&pdma->lock);
	return ret;
}

static int pdma_do_list(struct pdma_dev *pdma, struct file *file, struct pdma_list *req)
{
	struct pdma_core_entry ent;
	int ret;

	if (req->pad || !pdma_zeroed(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	mutex_lock(&pdma->lock);
	ret = pdma_core_next_entry(pdma->core, &req->cursor, &ent);
	if (!ret)
		pdma_fill_entry_info(pdma, file, &ent, &req->entry);
	mutex_unlock(&pdma->lock);
	return ret;
}

/*
 * Copy in the argument, run the handler, copy out on success. The size is
 * part of the command number, so one helper serves every ioctl.
 */
#define PDMA_CALL(handler, type)					\
	({								\
		type __req;						\
		int __ret;						\
		if (copy_from_user(&__req, argp, sizeof(__req)))	\
			__ret = -EFAULT;				\
		else							\
			__ret = handler(pdma, file, &__req);			\
		if (!__ret && copy_to_user(argp, &__req, sizeof(__req))) \
			__ret = -EFAULT;				\
		__ret;							\
	})

/**
 * pdma_ioctl() - dispatch a PDMA_IOC_* command
 * @file: /dev/pdma
 * @cmd:  the command
 * @arg:  user pointer to the command's struct
 *
 * Return: 0, a negative errno from the handler, -EFAULT, or -ENOTTY for an
 * unknown command.
 */
long pdma_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pdma_dev *pdma = pdma_from_file(file);
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case PDMA_IOC_INFO:
		return PDMA_CALL(pdma_do_info, struct pdma_info);
	case PDMA_IOC_ALLOC:
		return PDMA_CALL(pdma_do_alloc, struct pdma_alloc);
	case PDMA_IOC_LOOKUP:
		return PDMA_CALL(pdma_do_lookup, struct pdma_lookup);
	case PDMA_IOC_FREE:
		return PDMA_CALL(pdma_do_free, struct pdma_free);
	case PDMA_IOC_LIST:
		return PDMA_CALL(pdma_do_list, struct pdma_list);
	default:
		return -ENOTTY;
	}
}
