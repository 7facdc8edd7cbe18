/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio_keep_alive.h - the VFIO keep-alive device feature from the keep-alive
 * series (kmod/patches/), for build hosts whose <linux/vfio.h> predates it.
 * Shared by pdma-nvme (tools/nvme/) and vfio_nvme_probe (tests/guest/).
 */
#ifndef VFIO_KEEP_ALIVE_H
#define VFIO_KEEP_ALIVE_H

#include <linux/types.h>
#include <linux/vfio.h>

#ifndef VFIO_DEVICE_FEATURE_KEEP_ALIVE
#define VFIO_DEVICE_FEATURE_KEEP_ALIVE 64	/* provisional, see kmod/patches */
struct vfio_device_feature_keep_alive {
	__u32 enable;
	__u32 flags;
};
#endif
#ifndef VFIO_DEVICE_KEEP_ALIVE_RESTORED
#define VFIO_DEVICE_KEEP_ALIVE_RESTORED (1u << 0)
#endif

#endif /* VFIO_KEEP_ALIVE_H */
