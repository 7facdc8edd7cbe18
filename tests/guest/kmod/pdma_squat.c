// SPDX-License-Identifier: GPL-2.0
/*
 * pdma_squat: a test module that takes the misc device name "pdma", so that
 * pdma's own misc_register() fails at init. tests/test_pdma_init_order.py
 * loads it first to check that a failed pdma init leaves the table
 * untouched (module v2 review finding 11: commit only once nothing can fail).
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static const struct file_operations pdma_squat_fops = {
	.owner = THIS_MODULE,
};

static struct miscdevice pdma_squat_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pdma",
	.fops = &pdma_squat_fops,
	.mode = 0600,
};

static int __init pdma_squat_init(void)
{
	return misc_register(&pdma_squat_misc);
}

static void __exit pdma_squat_exit(void)
{
	misc_deregister(&pdma_squat_misc);
}

module_init(pdma_squat_init);
module_exit(pdma_squat_exit);
MODULE_DESCRIPTION("Test aid: occupies the pdma misc device name");
MODULE_LICENSE("GPL");
