/* SPDX-License-Identifier: GPL-2.0 */
/*
 * linux-source-7.2 (7.2.13-1) calls calloc_assert() in
 * tools/testing/selftests/vfio/lib/vfio_pci_device.c without defining it:
 * a stable backport whose helper did not come along. This is that helper,
 * as the vfio selftests' other *_assert() wrappers behave (fail loudly),
 * forced into every vfio selftest compile by tools/vm/selftests.sh.
 */
#include <stdio.h>
#include <stdlib.h>

static inline void *calloc_assert(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "calloc(%zu, %zu) failed\n", n, size);
		exit(1);
	}
	return p;
}
