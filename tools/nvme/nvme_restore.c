// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_restore.c - getting back to a running controller, for every command.
 *
 * nvd_restore() opens the queues of this process. It resumes on the
 * existing queues, with no admin command and no CC write, only when every
 * check passes:
 *   - the record: a valid copy, for this BDF, clean (no process died owning
 *     the queues), and final for this kernel (a completed save, or a
 *     checkpoint this kernel wrote);
 *   - the allocations at the recorded addresses;
 *   - the device: RESTORED from the keep-alive GET, Memory and Bus Master
 *     on, CC as recorded with EN=1, CSTS.RDY=1, CFS=0, no shutdown,
 *     AQA/ASQ/ACQ and CAP as recorded, the doorbells inside BAR0;
 *   - every completion ring: its CRC as recorded (nothing posted since,
 *     however many entries), and the entries the listed in-flight commands
 *     may fill either not posted or completions of exactly those commands.
 * Otherwise it says which check failed and recovers on a path that is safe
 * by construction: the dirty mark, then a controller reset (CC.EN=0 and
 * CSTS.RDY=0: every old command stopped, every old queue deleted), a full
 * init on fresh rings (no old SQE can be fetched again, no old completion
 * can match), the identity check. Writes the record lists in flight are in
 * doubt and never reissued (see in_doubt()); a dead process's intent range
 * (blocks it may have half written) leaves the range log.
 *
 * On the resume path the completions of the commands in flight (across a
 * kexec: the controller went on executing them into the rings in pdma) are
 * reaped and matched first, before any new command is submitted.
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

bool nvd_device_intact(struct nvd *d, const struct nvs_record *s, char *checks, size_t size)
{
	size_t before = strlen(checks);
	uint32_t enable, cc, csts, aqa;
	uint64_t cap, asq, acq;
	bool restored;
	uint16_t cmd;
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
	d->stride = 4u << NVME_CAP_DSTRD(s->cap);
	if (nvd_check_doorbells(d, s->nr_io_queues))
		add_check(checks, size, "%s", d->err);
	return strlen(checks) == before;
}

/* Take the queues as the record left them */
static void resume_queues(struct nvd *d, const struct nvs_record *s)
{
	unsigned int i;

	d->stride = 4u << NVME_CAP_DSTRD(s->cap);
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

static bool outstanding(const struct nvd_queue *q, uint16_t cid)
{
	unsigned int j;

	for (j = 0; j < NVD_SLOTS; j++)
		if (q->slot[j].busy && !q->slot[j].done && q->slot[j].cid == cid)
			return true;
	return false;
}

/*
 * The completion rings hold exactly what the record says (resumed queues,
 * retracked commands): nothing posted outside the window of the commands in
 * flight, and in it only their completions, in order.
 */
static void check_rings(struct nvd *d, const struct nvs_record *s, char *checks, size_t size)
{
	unsigned int i, k;

	for (i = 0; i <= s->nr_io_queues; i++) {
		const struct nvs_queue *o = i ? &s->io[i - 1] : &s->admin;
		struct nvd_queue *q = i ? &d->io[i - 1] : &d->admin;
		unsigned int skip = i ? nvd_pending(q) : 0;
		bool posted = true;

		if (o->cq_head >= o->size || o->sq_tail >= o->size || o->phase > 1) {
			add_check(checks, size, "queue %u: recorded positions out of range", i);
			continue;
		}
		if (nvd_cq_crc(q, skip) != o->cq_crc) {
			add_check(checks, size, "queue %u: the completion ring changed since the "
				  "record (CQ head %u)", i, o->cq_head);
			continue;
		}
		for (k = 0; k < skip; k++) {
			unsigned int pos = (q->cq_head + k) % q->size;
			volatile struct nvme_cqe *e = &q->cq[pos];
			unsigned int phase = q->phase ^ (q->cq_head + k >= q->size);
			bool here = (e->status & 1) == phase;

			if (here && (!posted || e->sqid != q->qid || !outstanding(q, e->cid))) {
				add_check(checks, size, "queue %u: CQ entry %u (SQ %u CID 0x%04x) is "
					  "no command in flight", i, pos, e->sqid, e->cid);
				break;
			}
			posted = here;
		}
	}
}

/* Record, allocations, device: the first steps of every command */
static int load(struct nvd *d, struct nvs_record *old, bool *record_ok, char *checks,
		size_t size)
{
	char why[400];
	bool present;

	if (nvd_state_map(d, false, &present))
		return -1;
	if (!present)
		return nvd_err(d, NVD_EXIT_FAIL, "pdma allocation nvme/%s/state is missing: no "
			       "saved driver state; run `pdma-nvme init %s`", d->bdf, d->bdf);
	*record_ok = !nvd_record_read(d, old, why, sizeof(why)) &&
		     !strncmp(old->bdf, d->bdf, sizeof(old->bdf));
	if (*why)
		add_check(checks, size, "state record nvme/%s/state: %s", d->bdf, why);
	else if (!*record_ok)
		add_check(checks, size, "state record is for %.16s", old->bdf);
	if (*record_ok) {
		d->cur = *old;
		d->nq = old->nr_io_queues;
		d->depth = old->depth;
		d->chunk = old->chunk; /* a dirty mark before the re-init keeps it */
	}
	if (nvd_claim_all(d, false))
		return -1;
	d->t_claimed = nvd_now_ns();
	if (*record_ok)
		check_phys(d, old, checks, size);
	if (nvd_open_device(d))
		return -1;
	d->t_opened = nvd_now_ns();
	return nvd_ledger_map(d, &present);
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

/*
 * After a reset, the commands the record lists in flight may or may not
 * have executed, wholly or in part: nothing proves either, so none is
 * reissued (a reissue could land over a newer write). A write's blocks are
 * dropped from the range log (they hold old or new data); a ledger write
 * stays in flight in the ledger, which allows both; a read's caller is gone.
 */
static void in_doubt(struct nvd *d, const struct nvs_record *old, struct nvd_restore *r)
{
	unsigned int i;

	for (i = 0; i < old->nr_inflight; i++) {
		const struct nvs_cmd *c = &old->inflight[i];

		r->in_doubt++;
		if (c->opcode == NVME_IO_WRITE && c->kind != NVS_KIND_LEDGER && c->nlb)
			nvd_log_forget(d, c->slba, c->nlb);
	}
}

static bool same_disk(const struct nvs_record *a, const struct nvs_record *b)
{
	return !memcmp(a->serial, b->serial, sizeof(a->serial)) && a->nsze == b->nsze &&
	       a->lba_shift == b->lba_shift;
}

/* Reset and re-initialise; what the record lists in flight is in doubt */
static int recover(struct nvd *d, const struct nvs_record *old, struct nvd_restore *r)
{
	uint64_t t1 = nvd_now_ns();
	struct nvs_record was = *old;

	if (!r->record_ok) {
		memset(&d->cur, 0, sizeof(d->cur)); /* no identity, history or log */
		memset(&was, 0, sizeof(was));
	}
	memset(d->io, 0, sizeof(d->io));
	d->t_first_io = 0;
	if (r->dirty && old->intent.nlb) {
		/* Blocks the dead process was writing hold old or new data */
		r->lost = old->intent;
		nvd_log_forget(d, old->intent.slba, old->intent.nlb);
	}
	if (r->dirty)
		d->cur.recoveries++;
	if (r->record_ok)
		in_doubt(d, &was, r);
	nvd_own(d); /* lists nothing in flight: the reset ends every command */
	if (nvd_full_init(d))
		return -1;
	if (r->record_ok && !same_disk(&was, &d->cur)) {
		d->queues_bad = true; /* keep the record (and its log) as it is */
		return nvd_err(d, NVD_EXIT_FAIL, "%s: a different disk: the record is for serial "
			       "'%.20s' (%" PRIu64 " blocks of %u bytes), the controller has serial "
			       "'%.20s' (%" PRIu64 " blocks of %u bytes). Put the disk back, or "
			       "run `pdma-nvme init --forget` to drop the record's log", d->bdf,
			       was.serial, was.nsze, 1u << was.lba_shift, d->cur.serial,
			       d->cur.nsze, 1u << d->cur.lba_shift);
	}
	r->init_ns = nvd_now_ns() - t1;
	r->path = "full-init";
	return 0;
}

/* Reap what the record listed in flight; store the record without them */
static int reap_old(struct nvd *d, struct nvd_restore *r)
{
	unsigned int i;

	for (i = 0; i < d->nq; i++)
		r->reaped += nvd_pending(&d->io[i]);
	if (!r->reaped)
		return 0;
	if (nvd_drain(d))
		return -1;
	nvd_snapshot(d); /* still dirty, no longer listing them */
	nvd_store(d, NVS_F_DIRTY);
	return 0;
}

int nvd_restore(struct nvd *d, struct nvd_restore *r, bool probe, bool drain)
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
	r->dirty = r->record_ok && (old.flags & NVS_F_DIRTY);
	nvd_boot_id(d, boot);
	if (r->dirty)
		add_check(r->checks, sizeof(r->checks), "the record is dirty: the process that "
			  "owned the queues (life %u) ended without its checkpoint", old.gen);
	else if (r->record_ok && !r->saved && strncmp(boot, old.boot_id, NVS_BOOT_ID))
		add_check(r->checks, sizeof(r->checks), "the record is a checkpoint, not from a "
			  "completed save (%u commands in flight)", old.nr_inflight);
	if (!*r->checks)
		nvd_device_intact(d, &old, r->checks, sizeof(r->checks));
	if (!*r->checks) {
		resume_queues(d, &old);
		retrack(d, &old);
		check_rings(d, &old, r->checks, sizeof(r->checks));
	}
	r->check_ns = nvd_now_ns() - t0 - r->open_ns;
	if (!*r->checks) {
		nvd_own(d); /* before the first doorbell */
		r->path = "keep-alive";
		if (nvd_irq_arm(d)) /* MSI-X: re-armed in every process and kernel */
			return -1;
		/* Old completions first: no new command before they are matched */
		if ((drain || probe) && reap_old(d, r))
			return -1;
		if (probe && probe_read(d, r->checks, sizeof(r->checks)))
			r->path = NULL; /* the queues do not work: recover */
	}
	if (!r->path && (recover(d, &old, r) || (probe && probe_read(d, r->checks,
								      sizeof(r->checks)))))
		return -1;
	if (!nvd_ka_get(d, &enable, &restored) && !enable && nvd_ka_set(d, 1))
		return -1;
	return 0;
}
