// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_restore.c - getting back to a running controller.
 *
 * attach:  every pdma-nvme command after init, in the same kernel. The
 *          checkpoint the previous command stored must be intact and the
 *          controller must still run on its queues (keep-alive kept it
 *          through the close); commands it left in flight are re-tracked.
 * restore: after kexec. Resumes on the existing queues with no admin
 *          command and no CC write only when every check passes: a record
 *          from a completed save (CRC, version), the allocations at the
 *          saved addresses, RESTORED from the keep-alive GET, Memory and
 *          Bus Master on, CC as saved with EN=1, CSTS.RDY=1, CFS=0, no
 *          shutdown, AQA/ASQ/ACQ and CAP as saved, no unconsumed completion
 *          and a read on every I/O queue that completes. Otherwise it logs
 *          which check failed and re-initialises the controller, and
 *          rewrites the writes that were in flight from their data buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nvme_drv.h"

#define PROBE_TIMEOUT_MS 2000

static void __attribute__((format(printf, 3, 4)))
add_check(char *checks, size_t size, const char *fmt, ...)
{
	size_t len = strlen(checks);
	va_list ap;

	if (len && len + 3 < size) {
		strcat(checks, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(checks + len, size - len, fmt, ap);
	va_end(ap);
}

/* Allocations where the record says the queues are */
static void check_phys(struct nvd *d, const struct nvs_record *s, char *checks, size_t size)
{
	unsigned int i;

	if (s->admin.sq_phys != d->mem[M_ASQ].phys || s->admin.cq_phys != d->mem[M_ACQ].phys ||
	    s->prp_phys != d->mem[M_PRP].phys || s->data_phys != d->mem[M_DATA].phys ||
	    s->id_phys != d->mem[M_ID].phys)
		add_check(checks, size, "admin/PRP/data allocations moved since the record");
	for (i = 0; i < s->nr_io_queues; i++)
		if (s->io[i].sq_phys != d->sqm[i].phys || s->io[i].cq_phys != d->cqm[i].phys ||
		    s->io[i].size != s->depth || s->io[i].qid != i + 1)
			add_check(checks, size, "I/O queue %u: allocations differ from the record",
				  i + 1);
}

static bool has_inflight(const struct nvs_record *s, unsigned int qid)
{
	unsigned int i;

	for (i = 0; i < s->nr_inflight; i++)
		if (s->inflight[i].qid == qid)
			return true;
	return false;
}

bool nvd_device_intact(struct nvd *d, const struct nvs_record *s, char *checks, size_t size)
{
	size_t before = strlen(checks);
	uint32_t enable, cc, csts, aqa;
	uint64_t cap, asq, acq;
	bool restored;
	uint16_t cmd;
	unsigned int i;
	int ret;

	ret = nvd_ka_get(d, &enable, &restored);
	if (ret)
		add_check(checks, size, "keep-alive GET: %s", ret == -ENOTTY ?
			  "kernel has no VFIO_DEVICE_FEATURE_KEEP_ALIVE" : strerror(-ret));
	else if (!restored)
		add_check(checks, size, "keep-alive GET: RESTORED not set, the open reset the "
			  "device");
	if (nvd_cfg_read16(d, 0x04, &cmd))
		return false;
	if ((cmd & 0x6) != 0x6)
		add_check(checks, size, "PCI COMMAND 0x%04x: Memory or Bus Master off", cmd);
	if (!(cmd & 0x2))
		return false; /* BAR reads would fault */
	cap = nvd_rd64(d, NVME_REG_CAP);
	cc = nvd_rd32(d, NVME_REG_CC);
	csts = nvd_rd32(d, NVME_REG_CSTS);
	aqa = nvd_rd32(d, NVME_REG_AQA);
	asq = nvd_rd64(d, NVME_REG_ASQ);
	acq = nvd_rd64(d, NVME_REG_ACQ);
	if (!(cc & NVME_CC_EN))
		add_check(checks, size, "CC 0x%08x: CC.EN=0, the controller was reset", cc);
	else if (cc != s->cc)
		add_check(checks, size, "CC 0x%08x differs from the saved 0x%08x", cc, s->cc);
	if (!(csts & NVME_CSTS_RDY) || (csts & NVME_CSTS_CFS) || NVME_CSTS_SHST(csts))
		add_check(checks, size, "CSTS 0x%08x: RDY=%u CFS=%u SHST=%u, need 1 0 0", csts,
			  csts & NVME_CSTS_RDY, !!(csts & NVME_CSTS_CFS), NVME_CSTS_SHST(csts));
	if (aqa != s->aqa || asq != s->admin.sq_phys || acq != s->admin.cq_phys)
		add_check(checks, size, "AQA/ASQ/ACQ 0x%x/0x%" PRIx64 "/0x%" PRIx64 " differ from "
			  "the saved 0x%x/0x%" PRIx64 "/0x%" PRIx64, aqa, asq, acq, s->aqa,
			  s->admin.sq_phys, s->admin.cq_phys);
	if (cap != s->cap)
		add_check(checks, size, "CAP 0x%" PRIx64 " differs from the saved 0x%" PRIx64,
			  cap, s->cap);
	/* The entry at each CQ head must not carry the current phase yet */
	for (i = 0; i <= s->nr_io_queues; i++) {
		const struct nvs_queue *q = i ? &s->io[i - 1] : &s->admin;
		volatile struct nvme_cqe *cq = (volatile struct nvme_cqe *)
			(i ? d->cqm[i - 1].virt : d->mem[M_ACQ].virt);

		if (q->cq_head >= q->size || q->sq_tail >= q->size || q->phase > 1) {
			add_check(checks, size, "queue %u: saved positions out of range", i);
			continue;
		}
		if (!has_inflight(s, q->qid) && (cq[q->cq_head].status & 1) == q->phase)
			add_check(checks, size, "queue %u: unexpected completion at CQ head %u", i,
				  q->cq_head);
	}
	return strlen(checks) == before;
}

/* Take the queues as the record left them */
static void resume_queues(struct nvd *d, const struct nvs_record *s)
{
	unsigned int i;

	d->stride = 4u << ((s->cap >> 32) & 0xf);
	d->chunk = s->chunk;
	for (i = 0; i <= d->nq; i++) {
		const struct nvs_queue *o = i ? &s->io[i - 1] : &s->admin;
		struct nvd_queue *q = i ? &d->io[i - 1] : &d->admin;

		nvd_queue_setup(d, q, o->qid, o->size, i ? d->sqm[i - 1].virt :
				d->mem[M_ASQ].virt, o->sq_phys, i ? d->cqm[i - 1].virt :
				d->mem[M_ACQ].virt, o->cq_phys);
		q->sq_tail = o->sq_tail;
		q->sq_head = o->sq_head;
		q->cq_head = o->cq_head;
		q->phase = o->phase;
		q->next_cid = o->next_cid;
	}
	nvd_slots_setup(d);
}

/* Commands a previous process left in flight occupy their slots again */
static void retrack(struct nvd *d, const struct nvs_record *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_inflight; i++) {
		const struct nvs_cmd *c = &s->inflight[i];
		struct nvd_slot *sl;

		if (!c->qid || c->qid > d->nq || c->slot >= NVD_SLOTS)
			continue;
		sl = &d->io[c->qid - 1].slot[c->slot];
		sl->busy = true;
		sl->done = false;
		sl->opcode = c->opcode;
		sl->kind = c->kind;
		sl->cid = c->cid;
		sl->nlb = c->nlb;
		sl->slba = c->slba;
		sl->tag = c->tag;
		d->io[c->qid - 1].busy++;
	}
}

/* Record, allocations, device: shared by attach and restore */
static int load(struct nvd *d, struct nvs_record *old, bool *record_ok, char *checks,
		size_t size)
{
	const char *problem;
	bool present;

	if (nvd_state_map(d, false, &present))
		return -1;
	if (!present)
		return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation nvme/%s/state is missing: no "
			       "saved driver state; run `pdma-nvme init %s`", d->bdf, d->bdf);
	problem = nvd_record_problem(d);
	memcpy(old, (const void *)d->rec, sizeof(*old));
	*record_ok = !*problem && !strncmp(old->bdf, d->bdf, sizeof(old->bdf));
	if (*problem)
		add_check(checks, size, "state record nvme/%s/state: %s", d->bdf, problem);
	else if (!*record_ok)
		add_check(checks, size, "state record is for %.16s", old->bdf);
	if (*record_ok) {
		d->cur = *old;
		d->nq = old->nr_io_queues;
		d->depth = old->depth;
	}
	if (nvd_claim_all(d, false))
		return -1;
	d->t_claimed = nvd_now_ns();
	if (*record_ok)
		check_phys(d, old, checks, size);
	if (nvd_open_device(d))
		return -1;
	d->t_opened = nvd_now_ns();
	return 0;
}

int nvd_attach(struct nvd *d)
{
	char checks[1024] = "", boot[NVS_BOOT_ID];
	struct nvs_record old;
	bool record_ok;

	if (load(d, &old, &record_ok, checks, sizeof(checks)))
		return -1;
	nvd_boot_id(d, boot);
	if (record_ok && strncmp(boot, old.boot_id, NVS_BOOT_ID))
		add_check(checks, sizeof(checks), "the record was written by another kernel "
			  "(%.40s)", old.boot_id);
	if (!*checks)
		nvd_device_intact(d, &old, checks, sizeof(checks));
	if (*checks)
		return nvd_err(d, NVD_EXIT_FAIL, "%s: cannot resume: %s; run `pdma-nvme restore "
			       "%s`", d->bdf, checks, d->bdf);
	resume_queues(d, &old);
	retrack(d, &old);
	return 0;
}

/* One read on every I/O queue: the queues work, and the first I/O is done */
static int probe_read(struct nvd *d, char *checks, size_t size)
{
	unsigned int i, saved = d->timeout_ms;
	int slot, ret = 0;

	d->timeout_ms = PROBE_TIMEOUT_MS;
	for (i = 0; i < d->nq && !ret; i++) {
		slot = nvd_free_slot(d, i);
		ret = slot < 0 || nvd_io_submit(d, i, slot, NVME_IO_READ, 0, 1, NVS_KIND_READ, 0) ||
		      nvd_io_wait(d, i, slot) || d->io[i].slot[slot].status ? -1 : 0;
		if (ret)
			add_check(checks, size, "probe read on I/O queue %u: %s", i + 1,
				  slot < 0 ? "no free slot" : d->err);
		else
			d->io[i].slot[slot].busy = d->io[i].slot[slot].done = false,
			d->io[i].busy--;
	}
	d->timeout_ms = saved;
	return ret;
}

/* Rewrite the writes that were in flight: their data is still in pdma */
static int replay(struct nvd *d, const struct nvs_record *old, struct nvd_restore *r)
{
	unsigned int i;

	for (i = 0; i < old->nr_inflight; i++) {
		const struct nvs_cmd *c = &old->inflight[i];
		unsigned int qi = c->qid - 1u;

		if (c->opcode != NVME_IO_WRITE || qi >= d->nq || c->slot >= NVD_SLOTS) {
			r->dropped++; /* a read: its caller is gone */
			continue;
		}
		if (nvd_io_submit(d, qi, c->slot, NVME_IO_WRITE, c->slba, c->nlb, c->kind, c->tag) ||
		    nvd_drain(d))
			return -1;
		r->replayed++;
	}
	return 0;
}

int nvd_restore(struct nvd *d, struct nvd_restore *r)
{
	uint64_t t0 = nvd_now_ns();
	char boot[NVS_BOOT_ID];
	struct nvs_record old;
	uint32_t enable;
	bool restored;

	memset(r, 0, sizeof(*r));
	if (load(d, &old, &r->record_ok, r->checks, sizeof(r->checks)))
		return -1;
	r->open_ns = nvd_now_ns() - t0;
	r->saved = r->record_ok && (old.flags & NVS_F_SAVED);
	nvd_boot_id(d, boot);
	/* A checkpoint is final only if this kernel wrote it and nothing is in flight */
	if (r->record_ok && !r->saved &&
	    (old.nr_inflight || strncmp(boot, old.boot_id, NVS_BOOT_ID)))
		add_check(r->checks, sizeof(r->checks), "the record is a checkpoint, not from a "
			  "completed save (%u commands in flight)", old.nr_inflight);
	if (!*r->checks)
		nvd_device_intact(d, &old, r->checks, sizeof(r->checks));
	r->check_ns = nvd_now_ns() - t0 - r->open_ns;
	if (!*r->checks) {
		resume_queues(d, &old);
		if (!probe_read(d, r->checks, sizeof(r->checks)))
			r->path = "keep-alive";
	}
	if (!r->path) {
		uint64_t t1 = nvd_now_ns();

		/* Keep identity, history and range log only from a good record */
		if (!r->record_ok)
			memset(&d->cur, 0, sizeof(d->cur));
		d->cur.nr_inflight = 0;
		memset(d->io, 0, sizeof(d->io));
		d->t_first_io = 0;
		if (nvd_full_init(d) || (r->record_ok && replay(d, &old, r)) ||
		    probe_read(d, r->checks, sizeof(r->checks)))
			return -1;
		r->init_ns = nvd_now_ns() - t1;
		r->path = "full-init";
	}
	if (!nvd_ka_get(d, &enable, &restored) && !enable && nvd_ka_set(d, 1))
		return -1;
	d->cur.restores++;
	nvd_snapshot(d);
	nvd_store(d, 0);
	return 0;
}
