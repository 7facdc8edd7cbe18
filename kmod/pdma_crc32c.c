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

static inline u32 pdma_crc32c_byte(u32 crc, u8 b)
{
	return (crc >> 8) ^ pdma_crc_tab[0][(crc ^ b) & 0xff];
}

/* Fold 8 bytes, read as a little-endian word, into the CRC. */
static inline u32 pdma_crc32c_word(u32 crc, __le64 word)
{
	u64 v = le64_to_cpu(word);
	u32 lo = (u32)v ^ crc, hi = (u32)(v >> 32);

	return pdma_crc_tab[7][lo & 0xff] ^
	       pdma_crc_tab[6][(lo >> 8) & 0xff] ^
	       pdma_crc_tab[5][(lo >> 16) & 0xff] ^
	       pdma_crc_tab[4][lo >> 24] ^
	       pdma_crc_tab[3][hi & 0xff] ^
	       pdma_crc_tab[2][(hi >> 8) & 0xff] ^
	       pdma_crc_tab[1][(hi >> 16) & 0xff] ^
	       pdma_crc_tab[0][hi >> 24];
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

	if (unlikely(!pdma_crc_ready))
		pdma_crc32c_init();

	/* Align to 8 so that the main loop does only aligned loads. */
	for (; len && ((unsigned long)p & 7); len--)
		crc = pdma_crc32c_byte(crc, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&word, p, sizeof(word));
		crc = pdma_crc32c_word(crc, word);
	}
	while (len--)
		crc = pdma_crc32c_byte(crc, *p++);
	return crc;
}

/**
 * pdma_crc32c_copy() - copy a buffer and update a CRC32C over the copy
 * @crc: running value, as for pdma_crc32c()
 * @dst: destination, @len bytes
 * @src: source, @len bytes, not overlapping @dst
 * @len: bytes to copy
 *
 * Loading a table copies it out of region memory and checksums it; doing
 * both in one pass reads region memory once and costs one store per word
 * on top of the CRC.
 *
 * Return: the updated running value.
 */
u32 pdma_crc32c_copy(u32 crc, void *dst, const void *src, size_t len)
{
	const u8 *p = src;
	u8 *d = dst;
	__le64 word;

	if (unlikely(!pdma_crc_ready))
		pdma_crc32c_init();

	for (; len && ((unsigned long)p & 7); len--) {
		*d = *p++;
		crc = pdma_crc32c_byte(crc, *d++);
	}
	for (; len >= 8; len -= 8, p += 8, d += 8) {
		memcpy(&word, p, sizeof(word));
		memcpy(d, &word, sizeof(word));
		crc = pdma_crc32c_word(crc, word);
	}
	while (len--) {
		*d = *p++;
		crc = pdma_crc32c_byte(crc, *d++);
	}
	return crc;
}
