/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The region the core unit tests (test_table, test_validation, test_alloc)
 * work on: 64 MiB at 4 GiB with CAP slots, formatted fresh by setup() at
 * the start of a test and released with region_fini(&R) at its end.
 */
#ifndef _PDMA_CORE_FIXTURE_H
#define _PDMA_CORE_FIXTURE_H

#include "test_common.h"

#define BASE		0x100000000ULL	/* 4 GiB */
#define SIZE		(64 * SZ_1M)
#define CAP		16

/* The region of the running test. */
extern struct region R;

/* Initialise and format R with @cap slots; 0 or -1. */
int setup_cap(u32 cap);
/* setup_cap(CAP). */
int setup(void);
/* Bytes of R's data area. */
u64 data_size(void);
/* pdma_core_alloc() on R without flags. */
int alloc(const char *name, u64 size, u64 align, struct pdma_core_entry *e);

#endif /* _PDMA_CORE_FIXTURE_H */
