/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio_nvme.h - shared by the four parts of vfio_nvme_probe:
 *   vfio_nvme_probe.c  subcommands and main
 *   vfio_nvme_dev.c    JSON output, sysfs view, VFIO device, register dump
 *   vfio_nvme_queue.c  queue memory, admin queue, Identify, saved state
 *   vfio_nvme_ka.c     keep-alive v2 checks: group type, capabilities, VF
 *                      token, MSI-X, start/hold, I/O queue interrupts
 */
#ifndef VFIO_NVME_H
#define VFIO_NVME_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/vfio.h>

#include "nvme/nvme_regs.h"
#include "nvme/vfio_keep_alive.h"

#define EXIT_CHECK 1
#define EXIT_IO 2

/* JSON output: one object, built up as we go, printed once at exit. */
bool js_empty(void);
void js_open(const char *key);
void js_close(void);
void js_str(const char *key, const char *val);
void js_int(const char *key, long long val);
void js_hex(const char *key, uint64_t val, int width);
void js_bool(const char *key, bool val);
void js_null(const char *key);
void js_print(void);

/* Print the object with "ok":false and the reason, and exit. */
void __attribute__((noreturn, format(printf, 2, 3)))
fail(int code, const char *fmt, ...);
/* Collect a failed check; checks_done() fails with all of them. */
void __attribute__((format(printf, 1, 2))) check_failed(const char *fmt, ...);
void checks_done(void);
void sigbus_handler(int sig);

extern unsigned int timeout_ms; /* --timeout-ms; 0: derive from CAP.TO */
uint64_t now_ms(void);
bool parse_bdf(const char *in, char *out, size_t outsz);

/* Sysfs view: works without opening the device */
struct sysview {
	char devdir[1024];
	char bridge[32];
	char bridgedir[1024];
	char driver[64];
	char power_state[32];
	char bridge_power_state[32];
	int keep_alive; /* sysfs attribute, -1: absent */
};

void sysfs_lookup(const char *bdf, struct sysview *sv);
void js_sysview(struct sysview *sv, bool with_dev_config);

/* VFIO device in a no-IOMMU or a type1 group */
struct vdev {
	char bdf[32];
	const char *iommu; /* "noiommu" or "type1" */
	int container, group, device;
	int groupnr;
	uint64_t cfg_off;
	uint64_t bar_off, bar_size;
	uint32_t bar_flags;
	volatile uint8_t *bar;
};

extern const char *vf_token; /* --vf-token: to open a VF */
void vfio_open(struct vdev *v, const char *bdf, struct sysview *sv);
void vfio_close(struct vdev *v);
uint16_t cfg_read16(struct vdev *v, unsigned int off);
void cfg_write16(struct vdev *v, unsigned int off, uint16_t val);
void bar_map(struct vdev *v);

static inline uint32_t rd32(struct vdev *v, unsigned int off)
{
	return *(volatile uint32_t *)(v->bar + off);
}

static inline uint64_t rd64(struct vdev *v, unsigned int off)
{
	uint64_t lo = rd32(v, off), hi = rd32(v, off + 4);

	return lo | hi << 32;
}

static inline void wr32(struct vdev *v, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(v->bar + off) = val;
}

static inline void wr64(struct vdev *v, unsigned int off, uint64_t val)
{
	wr32(v, off, (uint32_t)val);
	wr32(v, off + 4, (uint32_t)(val >> 32));
}

/*
 * VFIO_DEVICE_FEATURE with any flags, argsz and payload, for the bad-input
 * checks.  Returns 0 or -errno; a GET copies the payload back into @data.
 */
int feature_raw(struct vdev *v, uint32_t flags, uint32_t argsz, void *data,
		size_t len);
/* Keep-alive device feature.  Returns 0, or -errno (-ENOTTY: unsupported) */
int ka_feature(struct vdev *v, uint32_t op,
	       struct vfio_device_feature_keep_alive *ka);
/* Emit "keep_alive":{...}, or null if the kernel has no such feature */
int js_keep_alive(struct vdev *v, const char *key);
/* NVMe registers, if memory decode is on; returns the COMMAND register */
uint16_t js_nvme_regs(struct vdev *v);
/* Everything "regs" prints for an open device, as object @key */
void js_regs(struct vdev *v, struct sysview *sv, const char *key);

/* Keep-alive v2 checks (vfio_nvme_ka.c) */
int sysfs_config16(const char *devdir, unsigned int off, uint16_t *val);
int vfio_group_open(struct vdev *v, char *path, size_t size);
void js_cap_enable(const char *devdir, const char *key, uint8_t id,
		   uint16_t bit);
void drop_cap_sys_rawio(void);
void set_vf_token(const char *pf, struct vdev *pfv);
int msix_arm(struct vdev *v);
uint64_t irq_wait(int efd, int ms);
int cmd_start(const char *bdf, bool keep_alive, bool msix);
struct queue;
void io_irq_check(struct queue *q, int efd);
int __attribute__((noreturn)) cmd_hold(const char *bdf, unsigned int seconds);

/* Queue memory (vfio_nvme_queue.c), layout as in vfio_nvme_probe.c */
#define OFF_SQ 0x0000
#define OFF_CQ 0x1000
#define OFF_ID 0x2000
#define OFF_STATE 0x3000
#define MEM_SIZE 0x4000
/* identify-resume --irq: an I/O queue pair, in a buffer of IRQ_MEM_SIZE */
#define OFF_IOSQ 0x4000
#define OFF_IOCQ 0x5000
#define IRQ_MEM_SIZE 0x6000
#define QSIZE_MAX 32

#define STATE_MAGIC 0x564e4450 /* "PDNV" */
#define STATE_VERSION 1

/* Kept at PHYS + OFF_STATE, across kexec */
struct probe_state {
	uint32_t magic;
	uint32_t version;
	uint64_t asq, acq, idbuf;
	uint32_t aqa;
	uint32_t qsize;
	uint32_t sq_tail;
	uint32_t cq_head;
	uint32_t phase;
	uint32_t next_cid;
	uint32_t dstrd;
	uint32_t identify_count;
	char bdf[16];
};

struct mem {
	uint64_t phys;
	uint64_t size; /* bytes mapped at virt */
	volatile uint8_t *virt;
	volatile struct probe_state *st;
};

struct memarg {
	const char *phys; /* --mem */
	const char *pdma; /* --pdma */
};

struct queue {
	struct vdev *v;
	struct mem *m;
	uint32_t qsize, sq_tail, cq_head, phase, next_cid, stride;
};

/* Map --pdma NAME (allocated if @may_alloc and missing) or --mem PHYS */
void mem_map(struct mem *m, const struct memarg *a, bool may_alloc);
void wait_rdy(struct vdev *v, uint64_t cap, bool want);
/* Identify Controller at the queue's tail; fills "identify" */
void identify(struct queue *q, uint16_t vendor);
void state_save(struct queue *q, uint32_t aqa, const char *bdf, bool fresh);
void js_state(const char *key, volatile struct probe_state *st);

#endif /* VFIO_NVME_H */
