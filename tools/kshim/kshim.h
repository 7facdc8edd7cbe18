/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included when a kernel lib/ source (siphash, crc32, sort) is
 * compiled for userspace, on top of the kernel's own tools/include, as
 * tools/testing does: the few kernel helpers those headers lack. Nothing here changes
 * what the source computes.
 */
#ifndef _PDMA_KSHIM_H
#define _PDMA_KSHIM_H

#include <endian.h>
#include <linux/kconfig.h>
#include <linux/types.h>
#include <linux/bitops.h>

static inline __u64 rol64(__u64 word, unsigned int shift)
{
	return (word << (shift & 63)) | (word >> ((-shift) & 63));
}

#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define le16_to_cpup(p)		((__u16)le16toh(*(const __u16 *)(p)))
#define le32_to_cpup(p)		((__u32)le32toh(*(const __u32 *)(p)))
#define le64_to_cpup(p)		((__u64)le64toh(*(const __u64 *)(p)))
#define EXPORT_SYMBOL(sym)

/* For lib/crc32.c. */
#define __pure			__attribute__((pure))
#define __weak			__attribute__((weak))
#define __alias(sym)		__attribute__((alias(#sym)))
#define ____cacheline_aligned	__attribute__((aligned(64)))
#define MODULE_AUTHOR(s)
#define MODULE_DESCRIPTION(s)
#define MODULE_LICENSE(s)
/* For lib/sort.c: the kernel has these in <linux/types.h>. */
typedef int (*cmp_r_func_t)(const void *a, const void *b, const void *priv);
typedef void (*swap_r_func_t)(void *a, void *b, int size, const void *priv);
typedef int (*cmp_func_t)(const void *a, const void *b);
typedef void (*swap_func_t)(void *a, void *b, int size);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kshim: only little-endian hosts"
#endif
#define __LITTLE_ENDIAN		1234
#define __cpu_to_le32(x)	(x)
#define __le32_to_cpu(x)	(x)
#define cpu_to_le32(x)		(x)
#define le32_to_cpu(x)		(x)
#define __cpu_to_be32(x)	__builtin_bswap32(x)
#define __be32_to_cpu(x)	__builtin_bswap32(x)
#define cpu_to_be32(x)		__builtin_bswap32(x)
#define be32_to_cpu(x)		__builtin_bswap32(x)

#endif /* _PDMA_KSHIM_H */
