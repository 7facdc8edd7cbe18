// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_hw.c - the device side of pdma-nvme: VFIO no-IOMMU open, BAR0,
 * registers, the keep-alive device feature, admin commands and the full
 * controller initialisation. Polling only: no interrupt is ever set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "nvme_drv.h"
#include "vfio_keep_alive.h"

int nvd_err(struct nvd *d, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	d->err_code = code;
	return -1;
}

uint64_t nvd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The TSC keeps counting across kexec (no CPU reset); see README */
uint64_t nvd_tsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

bool nvd_parse_bdf(const char *in, char *out, size_t size)
{
	unsigned int dom, bus, dev, fn;
	char extra;

	if (sscanf(in, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &extra) != 4 ||
	    strlen(in) != 12 || dev > 0x1f || fn > 7)
		return false;
	snprintf(out, size, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return true;
}

void nvd_init_struct(struct nvd *d, const char *bdf)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->container = d->group = d->device = -1;
	for (unsigned int i = 0; i <= NVS_MAX_QUEUES; i++)
		d->irq_fd[i] = -1;
	d->rec_copy = -1; /* no valid copy known: the first store goes to A */
	d->nq = NVD_DEF_QUEUES;
	d->depth = NVD_DEF_DEPTH;
	d->timeout_ms = 10000;
	d->chunk = NVD_CHUNK; /* until the controller's MDTS or the record says */
}

/* ------------------------------------------------------------------ */
/* VFIO no-IOMMU                                                       */

int nvd_open_device(struct nvd *d)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	void *bar;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", d->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return nvd_err(d, NVD_EXIT_IO, "%s: no driver bound (%s): bind it to vfio-pci",
			       d->bdf, strerror(errno));
	link[n] = 0;
	if (strcmp(basename(link), "vfio-pci"))
		return nvd_err(d, NVD_EXIT_IO, "%s is bound to %s, not vfio-pci", d->bdf,
			       basename(link));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", d->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return nvd_err(d, NVD_EXIT_IO, "%s: %s", path, strerror(errno));
	link[n] = 0;

	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0)
		return nvd_err(d, NVD_EXIT_IO, "/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) != 1)
		return nvd_err(d, NVD_EXIT_IO, "/dev/vfio/vfio: no-IOMMU mode unavailable "
			       "(boot with vfio.enable_unsafe_noiommu_mode=1)");
	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%s", basename(link));
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0)
		return nvd_err(d, NVD_EXIT_IO, "%s: %s", path, strerror(errno));
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return nvd_err(d, NVD_EXIT_IO, "%s: group not viable", path);
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		return nvd_err(d, NVD_EXIT_IO, "%s: attaching the no-IOMMU container: %s", path,
			       strerror(errno));
	d->t_vfio_group = nvd_now_ns();
	/* vfio-pci enables the device here (the config-space walk, no reset if kept alive) */
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->device < 0)
		return nvd_err(d, NVD_EXIT_IO, "%s: opening device %s: %s", path, d->bdf,
			       strerror(errno));
	d->t_vfio_device = nvd_now_ns();

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return nvd_err(d, NVD_EXIT_IO, "%s: config region: %s", d->bdf, strerror(errno));
	d->cfg_off = ri.offset;
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &ri) || ri.size < 0x2000 ||
	    !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return nvd_err(d, NVD_EXIT_IO, "%s: BAR0 is not an mmappable NVMe BAR", d->bdf);
	d->bar_off = ri.offset;
	d->bar_size = ri.size;
	bar = mmap(NULL, d->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
		   (off_t)d->bar_off);
	if (bar == MAP_FAILED)
		return nvd_err(d, NVD_EXIT_IO, "%s: mmap BAR0: %s", d->bdf, strerror(errno));
	d->bar = bar;
	return 0;
}

int nvd_irq_arm(struct nvd *d)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	unsigned int n = d->cur.irq_vectors, i;
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int) * (NVS_MAX_QUEUES + 1)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	if (!n)
		return 0;
	if (n > NVS_MAX_QUEUES + 1)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: %u MSI-X vectors recorded, at most %u",
			       d->bdf, n, NVS_MAX_QUEUES + 1);
	if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) || ii.count < n)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: MSI-X: %u vectors, %u needed (admin and "
			       "one per I/O queue)", d->bdf, ii.count, n);
	for (i = 0; i < n; i++) {
		if (d->irq_fd[i] < 0)
			d->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->irq_fd[i] < 0)
			return nvd_err(d, NVD_EXIT_IO, "eventfd: %s", strerror(errno));
	}
	*set = (struct vfio_irq_set){ .argsz = (uint32_t)(sizeof(*set) + sizeof(int) * n),
				      .flags = VFIO_IRQ_SET_DATA_EVENTFD |
					       VFIO_IRQ_SET_ACTION_TRIGGER,
				      .index = VFIO_PCI_MSIX_IRQ_INDEX, .start = 0, .count = n };
	memcpy(set->data, d->irq_fd, sizeof(int) * n);
	if (ioctl(d->device, VFIO_DEVICE_SET_IRQS, set))
		return nvd_err(d, NVD_EXIT_IO, "%s: VFIO_DEVICE_SET_IRQS (MSI-X, %u vectors): %s",
			       d->bdf, n, strerror(errno));
	d->nr_irq = n;
	return 0;
}

int nvd_irq_wait(struct nvd *d, unsigned int qid, unsigned int ms)
{
	struct pollfd p = { .fd = d->irq_fd[qid], .events = POLLIN };
	uint64_t count;
	int ret = poll(&p, 1, (int)ms);

	if (ret < 0 && errno != EINTR)
		return nvd_err(d, NVD_EXIT_IO, "poll: %s", strerror(errno));
	if (ret <= 0)
		return ret < 0 ? 0 : -1; /* a signal: the caller checks again */
	if (read(d->irq_fd[qid], &count, sizeof(count)) == sizeof(count)) {
		d->irq_wakeups++;
		d->irqs += count;
	}
	return 0;
}

void nvd_irq_collect(struct nvd *d)
{
	uint64_t count;
	unsigned int i;

	for (i = 0; i < d->nr_irq; i++)
		if (read(d->irq_fd[i], &count, sizeof(count)) == sizeof(count))
			d->irqs += count; /* nonblocking: nothing pending reads nothing */
}

void nvd_close_device(struct nvd *d)
{
	if (d->bar)
		munmap((void *)d->bar, d->bar_size);
	d->bar = NULL;
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->device = d->group = d->container = -1;
	for (unsigned int i = 0; i <= NVS_MAX_QUEUES; i++) {
		if (d->irq_fd[i] >= 0)
			close(d->irq_fd[i]);
		d->irq_fd[i] = -1;
	}
	d->nr_irq = 0;
}

int nvd_cfg_read16(struct nvd *d, unsigned int off, uint16_t *val)
{
	if (pread(d->device, val, 2, (off_t)(d->cfg_off + off)) != 2)
		return nvd_err(d, NVD_EXIT_IO, "%s: config read 0x%x: %s", d->bdf, off,
			       strerror(errno));
	return 0;
}

int nvd_cfg_write16(struct nvd *d, unsigned int off, uint16_t val)
{
	if (pwrite(d->device, &val, 2, (off_t)(d->cfg_off + off)) != 2)
		return nvd_err(d, NVD_EXIT_IO, "%s: config write 0x%x: %s", d->bdf, off,
			       strerror(errno));
	return 0;
}

static int ka_ioctl(struct nvd *d, uint32_t op, struct vfio_device_feature_keep_alive *ka)
{
	uint64_t buf[4] = { 0 };
	struct vfio_device_feature *f = (void *)buf;

	f->argsz = sizeof(*f) + sizeof(*ka);
	f->flags = op | VFIO_DEVICE_FEATURE_KEEP_ALIVE;
	memcpy(f->data, ka, sizeof(*ka));
	if (ioctl(d->device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(ka, f->data, sizeof(*ka));
	return 0;
}

int nvd_ka_get(struct nvd *d, uint32_t *enable, bool *restored)
{
	struct vfio_device_feature_keep_alive ka = { 0 };
	int ret = ka_ioctl(d, VFIO_DEVICE_FEATURE_GET, &ka);

	*enable = ka.enable;
	*restored = !ret && (ka.flags & VFIO_DEVICE_KEEP_ALIVE_RESTORED);
	return ret;
}

int nvd_ka_set(struct nvd *d, uint32_t enable)
{
	struct vfio_device_feature_keep_alive ka = { .enable = enable };
	int ret = ka_ioctl(d, VFIO_DEVICE_FEATURE_SET, &ka);

	if (ret)
		return nvd_err(d, ret == -ENOTTY || ret == -EINVAL ? NVD_EXIT_FAIL : NVD_EXIT_IO,
			       "%s: setting keep-alive to %u: %s", d->bdf, enable,
			       ret == -ENOTTY ? "kernel has no VFIO_DEVICE_FEATURE_KEEP_ALIVE"
					      : strerror(-ret));
	return 0;
}

uint32_t nvd_rd32(struct nvd *d, unsigned int off)
{
	return *(volatile uint32_t *)(d->bar + off);
}

uint64_t nvd_rd64(struct nvd *d, unsigned int off)
{
	return nvd_rd32(d, off) | (uint64_t)nvd_rd32(d, off + 4) << 32;
}

void nvd_wr32(struct nvd *d, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(d->bar + off) = val;
}

static void wr64(struct nvd *d, unsigned int off, uint64_t val)
{
	nvd_wr32(d, off, (uint32_t)val);
	nvd_wr32(d, off + 4, (uint32_t)(val >> 32));
}

void nvd_wr_cc(struct nvd *d, uint32_t val)
{
	d->cc_writes++;
	nvd_wr32(d, NVME_REG_CC, val);
}

/* ------------------------------------------------------------------ */
/* Admin queue and controller init                                     */

static int wait_rdy(struct nvd *d, uint64_t cap, bool want)
{
	uint64_t limit = (NVME_CAP_TO(cap) * 500u + 5000ull) * 1000000ull, start = nvd_now_ns();
	uint32_t csts;

	for (;;) {
		csts = nvd_rd32(d, NVME_REG_CSTS);
		if (csts == 0xffffffff)
			return nvd_err(d, NVD_EXIT_IO, "%s: CSTS reads all ones: device gone",
				       d->bdf);
		if (want && (csts & NVME_CSTS_CFS))
			return nvd_err(d, NVD_EXIT_FAIL, "%s: CSTS.CFS=1 while enabling", d->bdf);
		if (!!(csts & NVME_CSTS_RDY) == want)
			return 0;
		if (nvd_now_ns() - start > limit)
			return nvd_err(d, NVD_EXIT_FAIL,
				       "%s: timeout waiting for CSTS.RDY=%d (CSTS 0x%x)", d->bdf,
				       want, csts);
		usleep(100);
	}
}

/* One admin command, waited for; its completion in *@out if not NULL */
static int admin(struct nvd *d, struct nvme_sqe *cmd, const char *what, struct nvme_cqe *out)
{
	struct nvd_queue *q = &d->admin;
	struct nvme_cqe cqe;
	uint16_t cid = nvd_next_cid(d, q);

	d->admin_cmds++;
	nvd_sq_push(d, q, cmd);
	if (nvd_cq_pop(d, q, &cqe, d->timeout_ms)) {
		d->queues_bad = true;
		return nvd_err(d, NVD_EXIT_FAIL, "%s: %s: no completion in %u ms", d->bdf, what,
			       d->timeout_ms);
	}
	if (cqe.cid != cid || cqe.sqid != 0) {
		d->queues_bad = true;
		return nvd_err(d, NVD_EXIT_FAIL, "%s: %s: completion for SQ %u CID 0x%04x, sent "
			       "CID 0x%04x on the admin queue", d->bdf, what, cqe.sqid, cqe.cid,
			       cid);
	}
	if (cqe.status >> 1)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: %s failed: status 0x%x", d->bdf, what,
			       cqe.status >> 1);
	if (out)
		*out = cqe;
	return 0;
}

static void copy_trim(char *dst, const volatile uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (char)src[i];
}

static int identify(struct nvd *d)
{
	volatile uint8_t *id = d->mem[M_ID].virt;
	struct nvs_record *s = &d->cur;
	struct nvme_sqe c = { .cdw0 = NVME_ADM_IDENTIFY, .prp1 = d->mem[M_ID].phys,
			      .cdw10 = NVME_ID_CNS_CTRL };
	unsigned int flbas, mdts;
	uint16_t ms;
	uint32_t nn;

	if (admin(d, &c, "Identify Controller", NULL))
		return -1;
	s->vid = (uint16_t)(id[0] | id[1] << 8);
	s->ssvid = (uint16_t)(id[2] | id[3] << 8);
	copy_trim(s->serial, id + 4, sizeof(s->serial));
	copy_trim(s->model, id + 24, sizeof(s->model));
	copy_trim(s->firmware, id + 64, sizeof(s->firmware));
	mdts = id[77] + 12 + NVME_CAP_MPSMIN(s->cap); /* log2 of the limit in bytes */
	s->mdts_bytes = id[77] && mdts < 40 ? 1ull << mdts : 0; /* 0: no limit that matters */
	nn = id[516] | id[517] << 8 | id[518] << 16 | (uint32_t)id[519] << 24;
	if (nn < 1)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: controller has no namespace", d->bdf);

	memset((void *)id, 0, NVD_PAGE);
	c = (struct nvme_sqe){ .cdw0 = NVME_ADM_IDENTIFY, .nsid = 1,
			       .prp1 = d->mem[M_ID].phys, .cdw10 = NVME_ID_CNS_NS };
	if (admin(d, &c, "Identify Namespace 1", NULL))
		return -1;
	s->nsid = 1;
	memcpy(&s->nsze, (const void *)id, 8);
	flbas = id[26] & 0xf;
	ms = (uint16_t)(id[128 + 4 * flbas] | id[129 + 4 * flbas] << 8);
	/* The driver gives no metadata pointer: the controller would DMA to 0 */
	if (ms || (id[26] & 0x10) || (id[26] & 0x60))
		return nvd_err(d, NVD_EXIT_FAIL, "%s: namespace 1 uses LBA format %u with %u "
			       "bytes of metadata per block%s: pdma-nvme supports only formats "
			       "without metadata; reformat the namespace with one (NVMe Format, "
			       "e.g. `nvme format --lbaf=N` on a host driver)", d->bdf,
			       flbas | (id[26] & 0x60) >> 1, ms,
			       id[26] & 0x10 ? " (extended LBAs)" : "");
	s->lba_shift = id[128 + 4 * flbas + 2];
	if (!s->nsze || s->lba_shift < 9 || s->lba_shift > 12)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: namespace 1: size %" PRIu64
			       " blocks of 2^%u bytes not supported", d->bdf, s->nsze,
			       s->lba_shift);
	return 0;
}

static int create_io_queues(struct nvd *d)
{
	struct nvme_sqe c = { .cdw0 = NVME_ADM_SET_FEATURES, .cdw10 = 0x07,
			      .cdw11 = (d->nq - 1) | (d->nq - 1) << 16 };
	unsigned int i, nsq, ncq;
	struct nvme_cqe cqe;
	char what[48];

	if (admin(d, &c, "Set Features (Number of Queues)", &cqe))
		return -1;
	/* DW0: submission (15:0) and completion (31:16) queues granted, 0-based */
	nsq = (cqe.dw0 & 0xffff) + 1;
	ncq = (cqe.dw0 >> 16) + 1;
	if (nsq < d->nq || ncq < d->nq)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: the controller grants %u submission and %u "
			       "completion queues, %u pairs asked: run init with --queues %u",
			       d->bdf, nsq, ncq, d->nq, nsq < ncq ? nsq : ncq);
	for (i = 0; i < d->nq; i++) {
		struct nvd_queue *q = &d->io[i];
		uint32_t qid = i + 1, qs = (d->depth - 1u) << 16;

		/* PC; with MSI-X also IEN and vector qid */
		c = (struct nvme_sqe){ .cdw0 = NVME_ADM_CREATE_CQ, .prp1 = q->cq_phys,
				       .cdw10 = qs | qid,
				       .cdw11 = d->nr_irq ? qid << 16 | 2 | 1 : 1 };
		snprintf(what, sizeof(what), "Create I/O CQ %u", qid);
		if (admin(d, &c, what, NULL))
			return -1;
		c = (struct nvme_sqe){ .cdw0 = NVME_ADM_CREATE_SQ, .prp1 = q->sq_phys,
				       .cdw10 = qs | qid, .cdw11 = qid << 16 | 1 };
		snprintf(what, sizeof(what), "Create I/O SQ %u", qid);
		if (admin(d, &c, what, NULL))
			return -1;
	}
	return 0;
}

int nvd_check_doorbells(struct nvd *d, unsigned int nq)
{
	uint64_t end = NVME_REG_DB + (2ull * nq + 2) * d->stride;

	if (end > d->bar_size)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: the doorbells of %u I/O queue pairs at "
			       "stride %u end at 0x%" PRIx64 ", beyond BAR0 (0x%" PRIx64 " bytes)",
			       d->bdf, nq, d->stride, end, d->bar_size);
	return 0;
}

int nvd_disable(struct nvd *d)
{
	uint64_t cap = nvd_rd64(d, NVME_REG_CAP);
	uint32_t cc = nvd_rd32(d, NVME_REG_CC);

	if (cc == 0xffffffff)
		return nvd_err(d, NVD_EXIT_IO, "%s: CC reads all ones: device gone", d->bdf);
	if (cc & NVME_CC_EN)
		nvd_wr_cc(d, cc & ~NVME_CC_EN);
	return wait_rdy(d, cap, false);
}

/*
 * Disable the controller (firmware or an earlier kernel may have left it
 * enabled; disabling also deletes every I/O queue and stops all DMA), then
 * build everything again on the claimed allocations.
 */
int nvd_full_init(struct nvd *d)
{
	struct nvs_record *s = &d->cur;
	uint16_t cmd;
	uint32_t aqa;
	unsigned int i;
	uint64_t cap;

	if (nvd_cfg_read16(d, 0x04, &cmd))
		return -1;
	if ((cmd & 0x6) != 0x6 && nvd_cfg_write16(d, 0x04, cmd | 0x6))
		return -1;
	cap = nvd_rd64(d, NVME_REG_CAP);
	if (!NVME_CAP_CSS_NVM(cap) || NVME_CAP_MPSMIN(cap) != 0)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: CAP 0x%" PRIx64 ": need the NVM command "
			       "set and 4 KiB pages", d->bdf, cap);
	if (d->depth > NVME_CAP_MQES(cap) + 1u)
		return nvd_err(d, NVD_EXIT_IO, "%s: queue depth %u above CAP.MQES+1 = %u", d->bdf,
			       d->depth, NVME_CAP_MQES(cap) + 1);
	if (nvd_disable(d))
		return -1;
	d->stride = 4u << NVME_CAP_DSTRD(cap);
	if (nvd_check_doorbells(d, d->nq))
		return -1;
	s->cap = cap;
	nvd_queue_setup(d, &d->admin, 0, (uint16_t)d->depth, d->mem[M_ASQ].virt,
			d->mem[M_ASQ].phys, d->mem[M_ACQ].virt, d->mem[M_ACQ].phys);
	memset((void *)d->mem[M_ASQ].virt, 0, d->mem[M_ASQ].size);
	memset((void *)d->mem[M_ACQ].virt, 0, d->mem[M_ACQ].size);
	for (i = 0; i < d->nq; i++) {
		nvd_queue_setup(d, &d->io[i], (uint16_t)(i + 1), (uint16_t)d->depth,
				d->sqm[i].virt, d->sqm[i].phys, d->cqm[i].virt, d->cqm[i].phys);
		memset((void *)d->sqm[i].virt, 0, d->sqm[i].size);
		memset((void *)d->cqm[i].virt, 0, d->cqm[i].size);
	}
	memset((void *)d->mem[M_ID].virt, 0, NVD_PAGE);

	aqa = (d->depth - 1u) << 16 | (d->depth - 1u);
	if (s->irq_vectors && nvd_irq_arm(d))
		return -1;
	if (!s->irq_vectors)
		nvd_wr32(d, NVME_REG_INTMS, 0xffffffff); /* polled (not with MSI-X) */
	nvd_wr32(d, NVME_REG_AQA, aqa);
	wr64(d, NVME_REG_ASQ, d->mem[M_ASQ].phys);
	wr64(d, NVME_REG_ACQ, d->mem[M_ACQ].phys);
	s->cc = NVME_CC_IO | NVME_CC_EN;
	s->aqa = aqa;
	nvd_wr_cc(d, s->cc);
	if (wait_rdy(d, cap, true) || identify(d) || create_io_queues(d))
		return -1;
	d->chunk = NVD_CHUNK;
	if (s->mdts_bytes && s->mdts_bytes < d->chunk)
		d->chunk = (unsigned int)s->mdts_bytes;
	nvd_slots_setup(d);
	nvd_snapshot(d);
	return 0;
}
