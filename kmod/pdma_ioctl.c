// SPDX-License-Identifier: GPL-2.0
/*
 * pdma ioctls. Each PDMA_IOC_* copies its struct in, checks that every
 * reserved field is zero, and calls pdma_do_*(), which owns the locking.
 */
#include <linux/fs.h>
#include <linux/pdma.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "pdma_drv.h"

static bool pdma_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static void pdma_fill_entry_info(struct pdma_dev *pdma, const struct pdma_core_entry *ent,
				 struct pdma_entry_info *info)
{
	lockdep_assert_held(&pdma->lock);
	memset(info, 0, sizeof(*info));
	memcpy(info->name, ent->name, sizeof(info->name));
	info->size = ent->size;
	info->align = ent->align;
	info->offset = ent->offset;
	info->phys = pdma->base + ent->offset;
	info->create_gen = ent->create_gen;
	info->flags = ent->flags;
	info->state = ent->state;
	info->id = ent->id;
	info->map_count = pdma->map_count[ent->id];
}

static int pdma_do_info(struct pdma_dev *pdma, struct pdma_info *info)
{
	struct pdma_core_info ci;

	if (!pdma_zeroed(info->reserved, sizeof(info->reserved)))
		return -EINVAL;
	mutex_lock(&pdma->lock);
	pdma_core_info(pdma->core, &ci);
	info->base = pdma->base;
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

static int pdma_do_alloc(struct pdma_dev *pdma, struct pdma_alloc *req)
{
	struct pdma_core_entry ent;
	int ret;

	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)) || req->id || req->offset ||
	    req->phys)
		return -EINVAL;
	mutex_lock(&pdma->lock);
	ret = pdma_core_alloc(pdma->core, req->name, req->size, req->align, req->flags, &ent);
	if (ret)
		goto out_unlock;
	if (ent.flags & PDMA_ALLOC_ZERO)
		memset(pdma->virt + ent.offset, 0, ent.size);
	req->size = ent.size;
	req->id = ent.id;
	req->offset = ent.offset;
	req->phys = pdma->base + ent.offset;
out_unlock:
	mutex_unlock(&pdma->lock);
	return ret;
}

static int pdma_do_lookup(struct pdma_dev *pdma, struct pdma_lookup *req)
{
	struct pdma_core_entry ent;
	char name[PDMA_NAME_MAX];
	int ret;

	/* Only the name is input; the rest of the entry must come in zeroed. */
	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)) ||
	    !pdma_zeroed((char *)&req->entry + sizeof(req->entry.name),
			 sizeof(req->entry) - sizeof(req->entry.name)))
		return -EINVAL;
	memcpy(name, req->entry.name, sizeof(name));
	mutex_lock(&pdma->lock);
	ret = pdma_core_claim(pdma->core, name, &ent);
	if (!ret)
		pdma_fill_entry_info(pdma, &ent, &req->entry);
	mutex_unlock(&pdma->lock);
	return ret;
}

static int pdma_do_free(struct pdma_dev *pdma, struct pdma_free *req)
{
	struct pdma_core_entry ent;
	int ret;

	if (!pdma_zeroed(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
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

static int pdma_do_list(struct pdma_dev *pdma, struct pdma_list *req)
{
	struct pdma_core_entry ent;
	int ret;

	if (req->pad || !pdma_zeroed(req->reserved, sizeof(req->reserved)))
		return -EINVAL;
	mutex_lock(&pdma->lock);
	ret = pdma_core_next_entry(pdma->core, &req->cursor, &ent);
	if (!ret)
		pdma_fill_entry_info(pdma, &ent, &req->entry);
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
			__ret = handler(pdma, &__req);			\
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
