// SPDX-License-Identifier: GPL-2.0
/*
 * CRC32C (Castagnoli) for the pdma table.
 *
 * In the kernel this is the kernel's crc32c(), which the crypto layer
 * accelerates where the CPU can (crc32c-intel with SSE4.2). Userspace
 * (tests, fuzzers, pdma-dump) uses the SSE4.2 crc32 instruction when the
 * CPU has it and slice-by-8 tables otherwise; the unit tests check that
 * both agree with each other and with the standard check values. The
 * running value is the raw shift register, as with crc32c(): start with
 * ~0 and invert the result.
 */

#include "pdma_shim.h"
#include "pdma_core.h"

#ifdef __KERNEL__

#include <linux/crc32c.h>

/**
 * pdma_crc32c() - update a CRC32C over a buffer
 * @crc: running value; start with ~0 and invert the result, like crc32c()
 * @buf: data
 * @len: bytes in @buf, below 4 GiB (a table copy is at most 128 MiB)
 *
 * Return: the updated running value.
 */
u32 pdma_crc32c(u32 crc, const void *buf, size_t len)
{
	return crc32c(crc, buf, len);
}

/**
 * pdma_crc32c_copy() - copy a buffer and update a CRC32C over the copy
 * @crc: running value, as for pdma_crc32c()
 * @dst: destination, @len bytes
 * @src: source, @len bytes, not overlapping @dst
 * @len: bytes to copy
 *
 * The CRC is taken over @dst, the copy the core goes on to interpret, so
 * a concurrent change of @src cannot slip past it.
 *
 * Return: the updated running value.
 */
u32 pdma_crc32c_copy(u32 crc, void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	return crc32c(crc, dst, len);
}

#else /* !__KERNEL__ */

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

/* Slice-by-8: eight 256-entry tables, about 3.5 instructions per byte. */
u32 pdma_crc32c_sw(u32 crc, const void *buf, size_t len)
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

/* Copy and slice-by-8 in one pass over the source. */
static u32 pdma_crc32c_copy_sw(u32 crc, void *dst, const void *src, size_t len)
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

#if defined(__x86_64__)
/* The SSE4.2 crc32 instruction: 8 bytes per instruction. */
__attribute__((target("sse4.2")))
u32 pdma_crc32c_hw(u32 crc, const void *buf, size_t len)
{
	const u8 *p = buf;
	u64 c = crc, w;

	for (; len && ((unsigned long)p & 7); len--)
		c = __builtin_ia32_crc32qi((u32)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w);
	}
	while (len--)
		c = __builtin_ia32_crc32qi((u32)c, *p++);
	return (u32)c;
}

bool pdma_crc32c_have_hw(void)
{
	return __builtin_cpu_supports("sse4.2");
}
#else
u32 pdma_crc32c_hw(u32 crc, const void *buf, size_t len)
{
	return pdma_crc32c_sw(crc, buf, len);
}

bool pdma_crc32c_have_hw(void)
{
	return false;
}
#endif

/* Force the table path (tests, PDMA_CRC32C=sw); read on first use. */
static int pdma_crc_use_hw = -1;

static bool pdma_crc32c_use_hw(void)
{
	const char *env;

	if (pdma_crc_use_hw < 0) {
		env = getenv("PDMA_CRC32C");
		pdma_crc_use_hw = pdma_crc32c_have_hw() && !(env && !strcmp(env, "sw"));
	}
	return pdma_crc_use_hw;
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
	if (pdma_crc32c_use_hw())
		return pdma_crc32c_hw(crc, buf, len);
	return pdma_crc32c_sw(crc, buf, len);
}

/**
 * pdma_crc32c_copy() - copy a buffer and update a CRC32C over the copy
 * @crc: running value, as for pdma_crc32c()
 * @dst: destination, @len bytes
 * @src: source, @len bytes, not overlapping @dst
 * @len: bytes to copy
 *
 * Return: the updated running value.
 */
u32 pdma_crc32c_copy(u32 crc, void *dst, const void *src, size_t len)
{
	if (pdma_crc32c_use_hw()) {
		memcpy(dst, src, len);
		return pdma_crc32c_hw(crc, dst, len);
	}
	return pdma_crc32c_copy_sw(crc, dst, src, len);
}

#endif /* __KERNEL__ */
