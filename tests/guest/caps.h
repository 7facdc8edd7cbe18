/* SPDX-License-Identifier: GPL-2.0 */
/*
 * caps.h: the one capability step the guest test helpers share.
 *
 * The permission tests run a helper as root minus one capability (what
 * root in a container, or a service given only some capabilities, gets).
 * They all do the same capget, change one bit in some sets, capset; this
 * is it, once. Raw syscalls, because the static busybox guest has no
 * libcap.
 */
#ifndef PDMA_TEST_CAPS_H
#define PDMA_TEST_CAPS_H

#include <stdbool.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

/*
 * Which of the calling thread's sets cap_set() changes. Bit i names slot i
 * of cap_set()'s set[] array: keep the two in the same order.
 */
#define CAPS_EFFECTIVE		0x1u
#define CAPS_PERMITTED		0x2u
#define CAPS_INHERITABLE	0x4u

/*
 * Set (on) or clear (!on) @cap in each of @sets of the calling thread.
 * Returns 0, or -1 with errno from capget or capset. Raising a bit in the
 * effective set needs it in the permitted set: clear only the effective
 * bit to take a capability away for a while, and both to drop it for good.
 */
static inline int cap_set(unsigned int cap, unsigned int sets, bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	const unsigned int w = cap / 32, bit = 1u << (cap % 32);
	__u32 *set[] = { &d[w].effective, &d[w].permitted, &d[w].inheritable };
	unsigned int i;

	if (syscall(SYS_capget, &hdr, d))
		return -1;
	for (i = 0; i < 3; i++) {
		if (!(sets & (1u << i)))
			continue;
		*set[i] = on ? *set[i] | bit : *set[i] & ~bit;
	}
	return syscall(SYS_capset, &hdr, d) ? -1 : 0;
}

static inline int cap_clear(unsigned int cap, unsigned int sets)
{
	return cap_set(cap, sets, false);
}

/* 1 if @cap is in the calling thread's effective set, 0 if not, -1 on error. */
static inline int cap_effective(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, d))
		return -1;
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

#endif /* PDMA_TEST_CAPS_H */
