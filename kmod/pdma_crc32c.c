// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C (Castagnoli) for the pdma table, slice-by-8.
 *
 * The kernel has crc32c() but userspace and pdma-dump do not, and the
 * table format must be computed by the same code everywhere, so the core
 * carries its own. Slice-by-8 folds eight input bytes per step through
 * eight 256-entry tables, about 3.5 instructions per byte; adoption of a
 * large table is dominated by this pass.
 */

#include "pdma_shim.h"
#include "pdma_core.h"

#define PDMA_CRC32C_POLY	0x82F63B78U	/* reflected Castagnoli */

static u32 pdma_crc_tab[8][256];
static bool pdma_crc_ready;

/*
 * Tables are generated on first use rather than spelled out as 2048
 * constants. The first call comes from pdma_core_create(), which the module
 * calls once from its init path, before anything can run concurrently.
 */
static void pdma_crc32c_init(void)
{
	unsigned int i, j;
	u32 c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (PDMA_CRC32C_POLY & -(c & 1));
		pdma_crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = pdma_crc_tab[0][i];
		for (j = 1; j < 8; j++) {
			c = (c >> 8) ^ pdma_crc_tab[0][c & 0xff];
			pdma_crc_tab[j][i] = c;
		}
	}
	pdma_crc_ready = true;
}

/**
 * pdma_crc32c() - update a CRC32C over a buffer
 * @crc: running value; start with ~0 and invert the result, like crc32c()
 * @buf: data
 * @len: bytes in @buf
 *
 * Return: the updated running value.
 */
u32 pdma_crc32c(u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;
	__le64 word;
	u32 lo, hi;
	u64 v;

	if (unlikely(!pdma_crc_ready))
		pdma_crc32c_init();

	/* Align to 8 so that the main loop does only aligned loads. */
	for (; len && ((unsigned long)p & 7); len--)
		crc = (crc >> 8) ^ pdma_crc_tab[0][(crc ^ *p++) & 0xff];

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&word, p, sizeof(word));
		v = le64_to_cpu(word);
		lo = (u32)v ^ crc;
		hi = (u32)(v >> 32);
		crc = pdma_crc_tab[7][lo & 0xff] ^
		      pdma_crc_tab[6][(lo >> 8) & 0xff] ^
		      pdma_crc_tab[5][(lo >> 16) & 0xff] ^
		      pdma_crc_tab[4][lo >> 24] ^
		      pdma_crc_tab[3][hi & 0xff] ^
		      pdma_crc_tab[2][(hi >> 8) & 0xff] ^
		      pdma_crc_tab[1][(hi >> 16) & 0xff] ^
		      pdma_crc_tab[0][hi >> 24];
	}

	while (len--)
		crc = (crc >> 8) ^ pdma_crc_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}
