// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_nvme_queue.c - the memory side of vfio_nvme_probe: the queue memory
 * (a pdma buffer or /dev/mem), the polled admin queue, Identify and the
 * state block kept with the queues across kexec.
 */
#include "vfio_nvme.h"
#include "libpdma/libpdma.h"

static void mem_dev(struct mem *m, const char *arg)
{
	char *end;
	void *p;
	int fd;

	errno = 0;
	m->phys = strtoull(arg, &end, 0);
	if (errno || *end || !m->phys)
		fail(EXIT_IO, "--mem: bad physical address \"%s\"", arg);
	if (m->phys & 0xfff)
		fail(EXIT_IO, "--mem 0x%" PRIx64 ": not 4 KiB aligned", m->phys);
	/* No O_SYNC: PAT refuses UC over pdma's write-back mapping */
	fd = open("/dev/mem", O_RDWR);
	if (fd < 0)
		fail(EXIT_IO, "/dev/mem: %s", strerror(errno));
	p = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)m->phys);
	if (p == MAP_FAILED)
		fail(EXIT_IO, "/dev/mem: mmap 0x%x bytes at 0x%" PRIx64 ": %s",
		     MEM_SIZE, m->phys, strerror(errno));
	close(fd);
	m->virt = p;
	m->size = MEM_SIZE;
}

/* Claim the pdma buffer NAME (allocate it if @may_alloc) and map it */
static void mem_pdma(struct mem *m, const char *name, bool may_alloc)
{
	struct pdma_entry_info e;
	struct pdma_mapping pm;
	struct pdma *p;
	int ret;

	ret = pdma_open(NULL, &p);
	if (ret)
		fail(EXIT_IO, "/dev/pdma: %s (pdma module loaded?)", strerror(-ret));
	ret = pdma_lookup(p, name, &e);
	if (ret == -ENOENT && may_alloc)
		ret = pdma_alloc(p, name, MEM_SIZE, 4096, PDMA_ALLOC_ZERO, &e);
	if (ret)
		fail(EXIT_IO, "pdma buffer %s: %s", name, strerror(-ret));
	if (e.size < MEM_SIZE)
		fail(EXIT_IO, "pdma buffer %s: %" PRIu64 " bytes, need %u", name,
		     (uint64_t)e.size, MEM_SIZE);
	ret = pdma_map(p, &e, &pm);
	if (ret)
		fail(EXIT_IO, "pdma buffer %s: mmap: %s", name, strerror(-ret));
	if (pm.phys & 0xfff)
		fail(EXIT_IO, "pdma buffer %s: phys 0x%" PRIx64 " not page aligned",
		     name, pm.phys);
	/* The handle stays open: the mapping lives until the process exits */
	m->phys = pm.phys;
	m->virt = pm.addr;
	m->size = e.size;
}

void mem_map(struct mem *m, const struct memarg *a, bool may_alloc)
{
	if (a->pdma)
		mem_pdma(m, a->pdma, may_alloc);
	else
		mem_dev(m, a->phys);
	m->st = (volatile struct probe_state *)(m->virt + OFF_STATE);
	js_hex("mem", m->phys, 1);
	js_str("pdma", a->pdma);
}

static unsigned int ready_timeout(uint64_t cap)
{
	/* CAP.TO is in 500 ms units; TCG guests are slow, add slack */
	return timeout_ms ? timeout_ms : NVME_CAP_TO(cap) * 500 + 5000;
}

void wait_rdy(struct vdev *v, uint64_t cap, bool want)
{
	uint64_t start = now_ms();
	unsigned int limit = ready_timeout(cap);
	uint32_t csts;

	for (;;) {
		csts = rd32(v, NVME_REG_CSTS);
		if (csts == 0xffffffff)
			fail(EXIT_CHECK, "CSTS reads all ones: device gone");
		if (want && (csts & NVME_CSTS_CFS))
			fail(EXIT_CHECK, "CSTS.CFS=1 while enabling (CSTS 0x%x)",
			     csts);
		if (!!(csts & NVME_CSTS_RDY) == want)
			return;
		if (now_ms() - start > limit)
			fail(EXIT_CHECK,
			     "timeout after %u ms waiting for CSTS.RDY=%d (CSTS 0x%x)",
			     limit, want, csts);
		usleep(1000);
	}
}

/*
 * Submit Identify Controller on the admin queue at its current tail and wait
 * for its completion at the current head and phase.  Fills "identify".
 */
void identify(struct queue *q, uint16_t vendor)
{
	volatile struct nvme_sqe *sqe;
	volatile struct nvme_cqe *cqe;
	volatile uint8_t *id = q->m->virt + OFF_ID;
	uint16_t cid = q->next_cid & 0xffff, status, vid, ssvid;
	unsigned int limit = timeout_ms ? timeout_ms : 10000;
	char sn[21], mn[41], fr[9];
	uint64_t start;
	int i;

	cqe = (volatile struct nvme_cqe *)(q->m->virt + OFF_CQ) + q->cq_head;
	if ((cqe->status & 1) == q->phase)
		fail(EXIT_CHECK,
		     "completion queue entry %u already has phase %u: unconsumed completion, queue state does not match",
		     q->cq_head, q->phase);

	for (i = 0; i < 4096; i++)
		id[i] = 0;

	sqe = (volatile struct nvme_sqe *)(q->m->virt + OFF_SQ) + q->sq_tail;
	memset((void *)sqe, 0, sizeof(*sqe));
	sqe->cdw0 = NVME_ADM_IDENTIFY | (uint32_t)cid << 16;
	sqe->nsid = 0;
	sqe->prp1 = q->m->phys + OFF_ID;
	sqe->cdw10 = NVME_ID_CNS_CTRL;
	__sync_synchronize();

	q->sq_tail = (q->sq_tail + 1) % q->qsize;
	wr32(q->v, NVME_REG_DB, q->sq_tail);

	start = now_ms();
	while ((cqe->status & 1) != q->phase) {
		if (now_ms() - start > limit) {
			uint32_t csts = rd32(q->v, NVME_REG_CSTS);

			fail(EXIT_CHECK,
			     "timeout after %u ms waiting for the Identify completion (CID %u, CQ head %u, phase %u, CSTS 0x%x)",
			     limit, cid, q->cq_head, q->phase, csts);
		}
		usleep(1000);
	}
	__sync_synchronize();
	status = cqe->status;

	js_open("identify");
	js_int("cid", cqe->cid);
	js_int("sqhd", cqe->sqhd);
	js_int("phase", status & 1);
	js_hex("status", status >> 1, 4);

	q->cq_head = (q->cq_head + 1) % q->qsize;
	if (q->cq_head == 0)
		q->phase ^= 1;
	wr32(q->v, NVME_REG_DB + q->stride, q->cq_head);
	q->next_cid = (q->next_cid + 1) & 0xffff;

	if (cqe->cid != cid)
		fail(EXIT_CHECK, "completion CID %u, expected %u", cqe->cid,
		     cid);
	if (status >> 1)
		fail(EXIT_CHECK, "Identify failed: status 0x%x (SCT %u SC 0x%x)",
		     status >> 1, (status >> 9) & 7, (status >> 1) & 0xff);

	vid = id[0] | id[1] << 8;
	ssvid = id[2] | id[3] << 8;
	for (i = 0; i < 20; i++)
		sn[i] = id[4 + i];
	for (i = 0; i < 40; i++)
		mn[i] = id[24 + i];
	for (i = 0; i < 8; i++)
		fr[i] = id[64 + i];
	sn[20] = mn[40] = fr[8] = 0;
	for (i = 19; i >= 0 && (sn[i] == ' ' || !sn[i]); i--)
		sn[i] = 0;
	for (i = 39; i >= 0 && (mn[i] == ' ' || !mn[i]); i--)
		mn[i] = 0;
	for (i = 7; i >= 0 && (fr[i] == ' ' || !fr[i]); i--)
		fr[i] = 0;
	js_hex("vid", vid, 4);
	js_hex("ssvid", ssvid, 4);
	js_str("sn", sn);
	js_str("mn", mn);
	js_str("fr", fr);
	js_close();

	if (vid != vendor)
		fail(EXIT_CHECK,
		     "Identify VID 0x%04x does not match PCI vendor 0x%04x",
		     vid, vendor);
	if (!sn[0])
		fail(EXIT_CHECK, "Identify returned an empty serial number");
}

void state_save(struct queue *q, uint32_t aqa, const char *bdf,
		       bool fresh)
{
	volatile struct probe_state *st = q->m->st;
	size_t i;

	if (fresh) {
		st->magic = 0;
		st->version = STATE_VERSION;
		st->asq = q->m->phys + OFF_SQ;
		st->acq = q->m->phys + OFF_CQ;
		st->idbuf = q->m->phys + OFF_ID;
		st->aqa = aqa;
		st->qsize = q->qsize;
		st->dstrd = q->stride;
		st->identify_count = 0;
		for (i = 0; i < sizeof(st->bdf); i++)
			st->bdf[i] = i < strlen(bdf) ? bdf[i] : 0;
	}
	st->sq_tail = q->sq_tail;
	st->cq_head = q->cq_head;
	st->phase = q->phase;
	st->next_cid = q->next_cid;
	st->identify_count++;
	__sync_synchronize();
	st->magic = STATE_MAGIC;
	__sync_synchronize();
}

void js_state(const char *key, volatile struct probe_state *st)
{
	js_open(key);
	js_hex("asq", st->asq, 16);
	js_hex("acq", st->acq, 16);
	js_hex("aqa", st->aqa, 8);
	js_int("qsize", st->qsize);
	js_int("sq_tail", st->sq_tail);
	js_int("cq_head", st->cq_head);
	js_int("phase", st->phase);
	js_int("next_cid", st->next_cid);
	js_int("identify_count", st->identify_count);
	js_close();
}
