/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pdma core (the sources kmod/core.mk lists) is built both into the
 * kernel module and into userspace tests, fuzzers and pdma-dump, so that
 * all of them agree on the table format by construction. This shim
 * is the only place that differs: in the kernel it pulls in the real
 * headers, in userspace it maps the handful of kernel names the core uses
 * onto libc.
 */
#ifndef _PDMA_SHIM_H
#define _PDMA_SHIM_H

#ifdef __KERNEL__

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/crc32.h>
#include <linux/limits.h>
#include <linux/random.h>
#include <linux/rbtree_augmented.h>
#include <linux/sched.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

#else /* !__KERNEL__ */

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)

#ifndef __force
#ifdef __CHECKER__
#define __force	__attribute__((force))	/* sparse, as in the kernel */
#else
#define __force
#endif
#endif

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define cpu_to_le32(x)	((__force __le32)htole32(x))
#define cpu_to_le64(x)	((__force __le64)htole64(x))
#define le32_to_cpu(x)	((u32)le32toh((__force u32)(x)))
#define le64_to_cpu(x)	((u64)le64toh((__force u64)(x)))

#define GFP_KERNEL	0

static inline void *kvcalloc(size_t n, size_t size, int gfp)
{
	(void)gfp;
	return calloc(n, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

/* Same contract as the kernel's mem_is_zero(): true if all @n bytes are 0. */
static inline bool mem_is_zero(const void *s, size_t n)
{
	const unsigned char *p = s;
	u64 w;

	for (; n && ((uintptr_t)p & 7); n--)
		if (*p++)
			return false;
	for (; n >= sizeof(w); n -= sizeof(w), p += sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		if (w)
			return false;
	}
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Userspace runs the core without preemption concerns. */
#define cond_resched()	do { } while (0)

/*
 * The kernel's lib/siphash.c, compiled for userspace as it is (see
 * tools/kshim/ksrc.mk); without CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS the
 * kernel's hsiphash() also ends in __hsiphash_unaligned() for unaligned
 * data. On 64-bit, as here, HalfSipHash is SipHash-1-3.
 */
struct pdma_hsiphash_key {
	unsigned long key[2];
};

/* Same layout as the kernel's hsiphash_key_t, which lib/siphash.c takes. */
#define hsiphash_key_t struct pdma_hsiphash_key

u32 __hsiphash_unaligned(const void *data, size_t len,
			 const hsiphash_key_t *key);

static inline u32 hsiphash(const void *data, size_t len,
			   const hsiphash_key_t *key)
{
	return __hsiphash_unaligned(data, len, key);
}

/*
 * The kernel's lib/crc32.c, compiled for userspace likewise: the unit tests
 * check the core's CRC32C against it.
 */
u32 __crc32c_le(u32 crc, unsigned char const *p, size_t len);

/*
 * The kernel's augmented rbtree: tools/lib/rbtree.c with its headers from
 * the kernel tree's tools/include, which the userspace builds search after
 * the system headers (tools/kshim/ksrc.mk), as tools/testing/memblock
 * does. The system's <linux/kernel.h> is the uapi one, hence container_of.
 */
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif
#include <linux/rbtree_augmented.h>

/* The kernel's lib/sort.c, compiled for userspace likewise. */
void sort(void *base, size_t num, size_t size,
	  int (*cmp_func)(const void *a, const void *b),
	  void (*swap_func)(void *a, void *b, int size));

/* Same contract as the kernel's get_random_bytes(). */
static inline void get_random_bytes(void *buf, size_t len)
{
	if (getrandom(buf, len, 0) != (ssize_t)len)
		abort();
}

#endif /* __KERNEL__ */

#endif /* _PDMA_SHIM_H */
