// SPDX-License-Identifier: GPL-2.0
/*
 * The region shared by the core unit tests; see core_fixture.h.
 */
#include "core_fixture.h"

struct region R;

int setup_cap(u32 cap)
{
	if (region_init(&R, BASE, SIZE, cap) || region_format(&R))
		return -1;
	return 0;
}

int setup(void)
{
	return setup_cap(CAP);
}

u64 data_size(void)
{
	return R.size - R.lay.data_offset;
}

int alloc(const char *name, u64 size, u64 align, struct pdma_core_entry *e)
{
	return pdma_core_alloc(R.core, name, size, align, 0, e);
}
