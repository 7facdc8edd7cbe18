// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_nvme_ka.c - the parts of vfio_nvme_probe for the keep-alive series'
 * v2 checks: who may set the flag (capabilities, IOMMU groups, VFs) and what
 * happens to interrupts.
 *
 *   start BDF [--keep-alive] [--msix]
 *        open (no-IOMMU or type1 group), optionally SET keep-alive 1
 *        ("set_errno": "OK" or the errno name; a refusal is not fatal),
 *        enable the controller on a dummy admin queue (no doorbell is
 *        rung, so the controller never does DMA), set memory decode and
 *        Bus Master, optionally arm MSI-X vector 0 through
 *        VFIO_DEVICE_SET_IRQS, and close.  Reports "iommu", "open"
 *        (registers after the open: was the controller reset?),
 *        "before_close" and "after_close" (sysfs views with the device's
 *        own config: COMMAND bits, DisINTx, MSI and MSI-X Enable).
 *   hold BDF SECONDS
 *        open, enable the controller as start does, arm MSI-X vector 0,
 *        print the JSON ("held") and keep the device open for SECONDS: a
 *        kexec during that time finds it open, bus-mastering, with MSI-X
 *        enabled.
 *
 * And the helpers vfio_nvme_dev.c and vfio_nvme_probe.c use: the group
 * type (no-IOMMU or type1), MSI/MSI-X Enable read from sysfs, and for
 * feature --drop-cap-sys-rawio,
 * feature --pf (a VF's token) and identify-resume --irq.
 */
#include "vfio_nvme.h"
#include "caps.h"

#include <poll.h>
#include <sys/eventfd.h>

/* Where the dummy admin queue of "start" points: the memmap= range */
#define DUMMY_QUEUE 0x30000000ull
/* The VF token the tests use, in text and binary form */
#define VF_TOKEN "0d7f5ae0-4c1b-4d0b-9a6e-0b5d0d2f1a11"
static const uint8_t vf_token_bin[16] = {
	0x0d, 0x7f, 0x5a, 0xe0, 0x4c, 0x1b, 0x4d, 0x0b,
	0x9a, 0x6e, 0x0b, 0x5d, 0x0d, 0x2f, 0x1a, 0x11,
};

/*
 * A no-IOMMU group is /dev/vfio/noiommu-N; with an IOMMU the group is
 * /dev/vfio/N and the container takes the type1 (v2) backend.
 */
int vfio_group_open(struct vdev *v, char *path, size_t size)
{
	snprintf(path, size, "/dev/vfio/noiommu-%d", v->groupnr);
	if (!access(path, F_OK)) {
		v->iommu = "noiommu";
		if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) != 1)
			fail(EXIT_IO,
			     "/dev/vfio/vfio: no-IOMMU mode not available (vfio.enable_unsafe_noiommu_mode=1?)");
		return VFIO_NOIOMMU_IOMMU;
	}
	snprintf(path, size, "/dev/vfio/%d", v->groupnr);
	v->iommu = "type1";
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		fail(EXIT_IO, "/dev/vfio/vfio: no type1v2 IOMMU backend");
	return VFIO_TYPE1v2_IOMMU;
}

/* Offset of capability @id in a sysfs config file, 0 if it has none */
static unsigned int sysfs_cap(const char *devdir, uint8_t id)
{
	unsigned int pos, n = 0;
	uint16_t v;

	if (sysfs_config16(devdir, 0x34, &v))
		return 0;
	for (pos = v & 0xfc; pos && n < 48; n++) {
		if (sysfs_config16(devdir, pos, &v))
			return 0;
		if ((v & 0xff) == id)
			return pos;
		pos = (v >> 8) & 0xfc;
	}
	return 0;
}

/*
 * "KEY": 0/1 for an enable bit of capability @id's control word (at +2),
 * read from sysfs (the hardware, not vfio's virtualized view); null if the
 * device has no such capability.
 */
void js_cap_enable(const char *devdir, const char *key, uint8_t id,
			  uint16_t bit)
{
	unsigned int pos = sysfs_cap(devdir, id);
	uint16_t ctrl;

	if (!pos || sysfs_config16(devdir, pos + 2, &ctrl)) {
		js_null(key);
		return;
	}
	js_int(key, !!(ctrl & bit));
}

/*
 * Stay root but remove CAP_SYS_RAWIO from the effective and permitted
 * sets; report "cap_sys_rawio" as the effective set has it afterwards.
 */
void drop_cap_sys_rawio(void)
{
	int rawio;

	if (cap_clear(CAP_SYS_RAWIO, CAPS_EFFECTIVE | CAPS_PERMITTED))
		fail(EXIT_IO, "capset: %s", strerror(errno));
	rawio = cap_effective(CAP_SYS_RAWIO);
	if (rawio < 0)
		fail(EXIT_IO, "capget: %s", strerror(errno));
	js_int("cap_sys_rawio", rawio);
}

/* Set the PF's VF token, so that its VFs can be opened with --vf-token */
void set_vf_token(const char *pf, struct vdev *pfv)
{
	struct sysview sv;
	int ret;

	sysfs_lookup(pf, &sv);
	vfio_open(pfv, pf, &sv);
	ret = feature_raw(pfv, VFIO_DEVICE_FEATURE_SET |
			  VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
			  sizeof(struct vfio_device_feature) + sizeof(vf_token_bin),
			  (void *)vf_token_bin, sizeof(vf_token_bin));
	if (ret)
		fail(EXIT_IO, "%s: VF token SET: %s", pf, strerror(-ret));
	vf_token = VF_TOKEN;
}

/* Arm MSI-X vector 0 with an eventfd; returns the eventfd */
int msix_arm(struct vdev *v)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)buf;
	int32_t efd;

	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	if (ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) || !ii.count)
		fail(EXIT_IO, "%s: no MSI-X (%s)", v->bdf,
		     ii.count ? strerror(errno) : "count 0");
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		fail(EXIT_IO, "eventfd: %s", strerror(errno));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(v->device, VFIO_DEVICE_SET_IRQS, set))
		fail(EXIT_IO, "%s: VFIO_DEVICE_SET_IRQS MSI-X: %s", v->bdf,
		     strerror(errno));
	return efd;
}

/* Interrupts counted on @efd within @ms milliseconds (0 if none came) */
uint64_t irq_wait(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&p, 1, ms) == 1 && read(efd, &count, sizeof(count)) != sizeof(count))
		count = 0;
	return count;
}

/* Enable the controller on a dummy admin queue; the caller never rings */
static void enable_idle(struct vdev *v)
{
	uint64_t cap;
	uint16_t cmd = cfg_read16(v, 0x04);

	cfg_write16(v, 0x04, cmd | 0x6); /* memory decode, bus master */
	bar_map(v);
	cap = rd64(v, NVME_REG_CAP);
	if (rd32(v, NVME_REG_CC) & NVME_CC_EN) {
		wr32(v, NVME_REG_CC, 0);
		wait_rdy(v, cap, false);
	}
	wr32(v, NVME_REG_AQA, 0x001f001f);
	wr64(v, NVME_REG_ASQ, DUMMY_QUEUE);
	wr64(v, NVME_REG_ACQ, DUMMY_QUEUE + 0x1000);
	wr32(v, NVME_REG_CC, NVME_CC_IOCQES(4) | NVME_CC_IOSQES(6) | NVME_CC_EN);
	wait_rdy(v, cap, true);
}

static void js_sysfs_now(const char *bdf, const char *key)
{
	struct sysview sv;

	sysfs_lookup(bdf, &sv);
	js_open(key);
	js_sysview(&sv, true);
	js_close();
}

int cmd_start(const char *bdf, bool keep_alive, bool msix)
{
	struct vfio_device_feature_keep_alive ka = { .enable = 1 };
	struct sysview sv;
	struct vdev v;
	int ret;

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	js_str("iommu", v.iommu);
	js_open("open");
	js_nvme_regs(&v);
	js_close();
	if (keep_alive) {
		ret = ka_feature(&v, VFIO_DEVICE_FEATURE_SET, &ka);
		js_str("set_errno", ret ? strerrorname_np(-ret) : "OK");
	}
	enable_idle(&v);
	if (msix)
		msix_arm(&v);
	js_keep_alive(&v, "keep_alive");
	js_sysfs_now(bdf, "before_close");
	vfio_close(&v);
	js_sysfs_now(bdf, "after_close");
	js_bool("ok", true);
	return 0;
}

int cmd_hold(const char *bdf, unsigned int seconds)
{
	struct sysview sv;
	struct vdev v;

	sysfs_lookup(bdf, &sv);
	vfio_open(&v, bdf, &sv);
	enable_idle(&v);
	msix_arm(&v);
	js_keep_alive(&v, "keep_alive");
	js_sysfs_now(bdf, "held");
	js_bool("ok", true);
	js_print();
	sleep(seconds);
	vfio_close(&v);
	exit(0);
}

/* Submit @cmd on queue @qid (SQ at @sq, CQ at @cq) and poll its completion */
static uint16_t submit(struct queue *q, unsigned int qid, volatile uint8_t *sq,
		       volatile uint8_t *cq, struct nvme_sqe *cmd)
{
	volatile struct nvme_cqe *cqe = (volatile struct nvme_cqe *)cq + q->cq_head;
	uint16_t cid = q->next_cid & 0xffff;
	uint64_t start = now_ms();

	cmd->cdw0 |= (uint32_t)cid << 16;
	memcpy((void *)((volatile struct nvme_sqe *)sq + q->sq_tail), cmd,
	       sizeof(*cmd));
	__sync_synchronize();
	q->sq_tail = (q->sq_tail + 1) % q->qsize;
	wr32(q->v, NVME_REG_DB + 2 * qid * q->stride, q->sq_tail);
	while ((cqe->status & 1) != q->phase) {
		if (now_ms() - start > 10000)
			fail(EXIT_CHECK, "queue %u: timeout waiting for CID %u",
			     qid, cid);
		usleep(1000);
	}
	__sync_synchronize();
	q->cq_head = (q->cq_head + 1) % q->qsize;
	if (!q->cq_head)
		q->phase ^= 1;
	wr32(q->v, NVME_REG_DB + (2 * qid + 1) * q->stride, q->cq_head);
	q->next_cid = (q->next_cid + 1) & 0xffff;
	if (cqe->cid != cid || cqe->status >> 1)
		fail(EXIT_CHECK, "queue %u: CID %u completed as CID %u status 0x%x",
		     qid, cid, cqe->cid, cqe->status >> 1);
	return cqe->status >> 1;
}

/*
 * With MSI-X vector 0 armed (@efd), create I/O queue pair 1 with interrupts
 * on vector 0 through the restored admin queue @q, submit a Flush on it and
 * count the interrupts; then delete the pair.  Reports "irq": {"admin",
 * "io"}: interrupts seen during the admin commands and for the Flush.
 * (QEMU 7.2's NVMe signals MSI-X only for queues created while MSI-X is
 * enabled, so the restored admin queue itself never interrupts there.)
 */
void io_irq_check(struct queue *q, int efd)
{
	struct queue io = { .v = q->v, .m = q->m, .qsize = 32, .phase = 1,
			    .stride = q->stride };
	volatile uint8_t *asq = q->m->virt + OFF_SQ, *acq = q->m->virt + OFF_CQ;
	volatile uint8_t *iosq = q->m->virt + OFF_IOSQ;
	volatile uint8_t *iocq = q->m->virt + OFF_IOCQ;
	struct nvme_sqe cmd;
	uint64_t admin;

	if (q->m->size < IRQ_MEM_SIZE)
		fail(EXIT_IO, "--irq needs a buffer of %u bytes, have %" PRIu64,
		     IRQ_MEM_SIZE, q->m->size);
	memset((void *)iocq, 0, 0x1000);
	memset(&cmd, 0, sizeof(cmd));
	cmd.cdw0 = NVME_ADM_CREATE_CQ;
	cmd.prp1 = q->m->phys + OFF_IOCQ;
	cmd.cdw10 = (io.qsize - 1) << 16 | 1;
	cmd.cdw11 = 0 << 16 | 1 << 1 | 1; /* vector 0, IEN, PC */
	submit(q, 0, asq, acq, &cmd);
	memset(&cmd, 0, sizeof(cmd));
	cmd.cdw0 = NVME_ADM_CREATE_SQ;
	cmd.prp1 = q->m->phys + OFF_IOSQ;
	cmd.cdw10 = (io.qsize - 1) << 16 | 1;
	cmd.cdw11 = 1 << 16 | 1; /* CQ 1, PC */
	submit(q, 0, asq, acq, &cmd);
	usleep(100000); /* let the admin completions' interrupts land */
	admin = irq_wait(efd, 0);

	memset(&cmd, 0, sizeof(cmd));
	cmd.cdw0 = NVME_IO_FLUSH;
	cmd.nsid = 1;
	submit(&io, 1, iosq, iocq, &cmd);
	js_open("irq");
	js_int("admin", admin);
	js_int("io", irq_wait(efd, 2000));
	js_close();

	memset(&cmd, 0, sizeof(cmd));
	cmd.cdw0 = 0x00; /* Delete I/O SQ */
	cmd.cdw10 = 1;
	submit(q, 0, asq, acq, &cmd);
	memset(&cmd, 0, sizeof(cmd));
	cmd.cdw0 = 0x04; /* Delete I/O CQ */
	cmd.cdw10 = 1;
	submit(q, 0, asq, acq, &cmd);
}
